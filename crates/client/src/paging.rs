//! Streams over every item of the paged lists (`GET /payouts`,
//! `GET /payment-accounts`), following the cursor from page to page.
//!
//! The cursor is `meta.paging.cursors.after`, or, when a server only sends
//! `next`, the `paging_after` parameter of that URL. A server that hands
//! back the cursor it was just given would loop forever; the stream ends
//! with [`Error::InvalidResponse`] instead.

use futures::{Stream, TryStreamExt, stream};

use crate::client::answer;
use crate::generated::types;
use crate::{Error, RafikiClient};

/// Filters for [`RafikiClient::payouts`]. Dates are `YYYY-MM-DD` or RFC 3339.
#[derive(Debug, Clone, Default)]
pub struct PayoutFilter {
    /// Only payouts created at or after this (inclusive).
    pub created_at_from: Option<String>,
    /// Only payouts created at or before this (inclusive).
    pub created_at_to: Option<String>,
    /// Items per page, 1 to 50 (the server's default when `None`).
    pub page_size: Option<u32>,
}

/// One fetched page: its items and the cursor of the next page, if any.
struct Page<T> {
    items: Vec<T>,
    after: Option<String>,
}

impl RafikiClient {
    /// Every payout matching `filter`, newest first, across all pages.
    pub fn payouts(
        &self,
        filter: PayoutFilter,
    ) -> impl Stream<Item = Result<types::Payout, Error>> + '_ {
        paginate(move |after| {
            let filter = filter.clone();
            async move {
                let mut call = self.inner.list_payouts();
                if let Some(from) = filter.created_at_from.as_deref() {
                    call = call.created_at_from(from);
                }
                if let Some(to) = filter.created_at_to.as_deref() {
                    call = call.created_at_to(to);
                }
                if let Some(size) = filter.page_size {
                    call = call.paging_limit(u64::from(size));
                }
                if let Some(after) = after.as_deref() {
                    call = call.paging_after(after);
                }
                let page = answer(call.send().await).await?;
                Ok(Page {
                    after: next_cursor(&page.meta),
                    items: page.data,
                })
            }
        })
    }

    /// Every payment account, newest first, across all pages.
    pub fn payment_accounts(
        &self,
        page_size: Option<u32>,
    ) -> impl Stream<Item = Result<types::PaymentAccount, Error>> + '_ {
        paginate(move |after| async move {
            let mut call = self.inner.list_payment_accounts();
            if let Some(size) = page_size {
                call = call.paging_limit(u64::from(size));
            }
            if let Some(after) = after.as_deref() {
                call = call.paging_after(after);
            }
            let page = answer(call.send().await).await?;
            page.data.iter().for_each(|account| self.learn(account));
            Ok(Page {
                after: next_cursor(&page.meta),
                items: page.data,
            })
        })
    }
}

/// Turns "fetch the page after this cursor" into a stream of items.
fn paginate<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T, Error>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    enum State {
        Next(Option<String>),
        Done,
    }
    stream::try_unfold(
        (State::Next(None), fetch),
        |(state, mut fetch)| async move {
            let State::Next(cursor) = state else {
                return Ok(None);
            };
            let page = fetch(cursor.clone()).await?;
            let next = match page.after {
                Some(after) if cursor.as_deref() == Some(after.as_str()) => {
                    return Err(Error::InvalidResponse(format!(
                        "the server repeated cursor `{after}`"
                    )));
                }
                Some(after) => State::Next(Some(after)),
                None => State::Done,
            };
            Ok(Some((
                stream::iter(page.items.into_iter().map(Ok)),
                (next, fetch),
            )))
        },
    )
    .try_flatten()
}

/// The cursor of the next page: `cursors.after`, else `next`'s `paging_after`.
fn next_cursor(meta: &types::PageMeta) -> Option<String> {
    let paging = &meta.paging;
    if let Some(after) = paging.cursors.as_ref().and_then(|c| c.after.as_ref()) {
        return Some(after.to_string());
    }
    let next = reqwest::Url::parse(paging.next.as_deref()?).ok()?;
    next.query_pairs()
        .find(|(k, _)| k == "paging_after")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn meta(json: serde_json::Value) -> types::PageMeta {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn cursor_comes_from_after_or_from_the_next_url() {
        let both = meta(
            serde_json::json!({"paging": {"cursors": {"after": "YWJj"}, "next": "https://x/v1/payouts?paging_after=ZGVm"}}),
        );
        assert_eq!(next_cursor(&both).as_deref(), Some("YWJj"));
        let next_only = meta(
            serde_json::json!({"paging": {"next": "https://x/v1/payouts?paging_limit=2&paging_after=ZGVm%3D%3D"}}),
        );
        assert_eq!(next_cursor(&next_only).as_deref(), Some("ZGVm=="));
        assert_eq!(next_cursor(&meta(serde_json::json!({"paging": {}}))), None);
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_the_stream_with_an_error() {
        let pages = paginate(|_| async {
            Ok(Page {
                items: vec![1],
                after: Some("same".to_string()),
            })
        });
        let items: Vec<_> = pages.collect().await;
        assert!(
            matches!(items.as_slice(), [Ok(1), Err(Error::InvalidResponse(_))]),
            "{items:?}"
        );
    }
}
