//! What the benchmarks share: `rafiki-mock` on a thread (and runtime) of
//! its own, so that its CPU time can be told apart from the runner's.

use std::sync::mpsc;
use std::time::Duration;

use cpu_time::ThreadTime;

/// The two accounts every benchmark run uses.
pub const KEYS: [&str; 2] = ["sk_test_bench_a", "sk_test_bench_b"];

/// A mock served from its own thread.
pub struct MockThread {
    pub base_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    cpu: mpsc::Receiver<Duration>,
}

impl MockThread {
    /// Starts a mock with `config` on a current-thread runtime of its own.
    pub fn start(config: rafiki_mock::Config) -> Self {
        let (url_tx, url_rx) = mpsc::channel();
        let (cpu_tx, cpu) = mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let started = ThreadTime::now();
                let mock = rafiki_mock::spawn(config).await.unwrap();
                url_tx.send(mock.base_url().to_string()).unwrap();
                let _ = stop_rx.await;
                mock.shutdown().await;
                cpu_tx.send(started.elapsed()).unwrap();
            });
        });
        let base_url = url_rx.recv().unwrap();
        MockThread {
            base_url,
            stop,
            cpu,
        }
    }

    /// Stops the mock; the CPU time its thread used.
    pub fn stop(self) -> Duration {
        self.stop.send(()).unwrap();
        self.cpu.recv().unwrap()
    }
}
