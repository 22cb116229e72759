//! Text drawn from an alphabet ([`text`]): one random number per
//! character, kept in one vector. proptest's `collection::vec` of ranges
//! does the same with a value tree per character, and a generated payout
//! holds a dozen such strings, which made them a large part of its cost.
//! The strings shrink as such a vector would: shorter first (from the
//! end), then each character toward the alphabet's first.

use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::strategy::{NewTree, ValueTree};
use proptest::test_runner::TestRunner;

/// Strings of `length` characters (in bytes: the alphabet is ASCII) drawn
/// from `alphabet`.
pub(super) fn text(alphabet: &'static [u8], length: RangeInclusive<usize>) -> Text {
    assert!(
        !alphabet.is_empty() && alphabet.len() <= usize::from(u8::MAX) + 1 && alphabet.is_ascii(),
        "an ASCII alphabet of 1 to 256 characters"
    );
    Text {
        alphabet,
        shortest: *length.start(),
        longest: *length.end(),
    }
}

/// The strategy [`text`] makes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Text {
    alphabet: &'static [u8],
    shortest: usize,
    longest: usize,
}

impl Strategy for Text {
    type Tree = TextTree;
    type Value = String;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let rng = runner.rng();
        let length = rng.random_range(self.shortest..=self.longest);
        let last = u8::try_from(self.alphabet.len() - 1).expect("checked by `text`");
        let picks = (0..length).map(|_| rng.random_range(0..=last)).collect();
        Ok(TextTree {
            alphabet: self.alphabet,
            shortest: self.shortest,
            picks,
            next: Step::Drop,
            undo: None,
        })
    }
}

/// A string as its picks (places in the alphabet), and where shrinking is.
#[derive(Debug, Clone)]
pub(super) struct TextTree {
    alphabet: &'static [u8],
    shortest: usize,
    picks: Vec<u8>,
    next: Step,
    undo: Option<Undo>,
}

/// What shrinking tries next.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Dropping the last character.
    Drop,
    /// Lowering the first character from here on that is not the first
    /// of the alphabet.
    Lower(usize),
}

/// How to take the last simplification back.
#[derive(Debug, Clone, Copy)]
enum Undo {
    Push(u8),
    Set(usize, u8),
}

impl ValueTree for TextTree {
    type Value = String;

    fn current(&self) -> String {
        self.picks
            .iter()
            .map(|&pick| char::from(self.alphabet[usize::from(pick)]))
            .collect()
    }

    fn simplify(&mut self) -> bool {
        if let Step::Drop = self.next {
            if self.picks.len() > self.shortest
                && let Some(last) = self.picks.pop()
            {
                self.undo = Some(Undo::Push(last));
                return true;
            }
            self.next = Step::Lower(0);
        }
        let Step::Lower(from) = self.next else {
            unreachable!("dropping is over")
        };
        match (from..self.picks.len()).find(|&at| self.picks[at] != 0) {
            Some(at) => {
                self.undo = Some(Undo::Set(at, self.picks[at]));
                self.picks[at] = 0;
                self.next = Step::Lower(at + 1);
                true
            }
            None => {
                self.next = Step::Lower(self.picks.len());
                false
            }
        }
    }

    fn complicate(&mut self) -> bool {
        match self.undo.take() {
            Some(Undo::Push(last)) => {
                // The last character is needed: lower the others instead.
                self.picks.push(last);
                self.next = Step::Lower(0);
                true
            }
            Some(Undo::Set(at, pick)) => {
                self.picks[at] = pick;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::test_runner::TestRunner;

    use super::*;

    fn tree(alphabet: &'static [u8], length: RangeInclusive<usize>, seed: u8) -> TextTree {
        let mut runner = TestRunner::new_with_rng(
            Default::default(),
            proptest::test_runner::TestRng::from_seed(
                proptest::test_runner::RngAlgorithm::XorShift,
                &[seed; 16],
            ),
        );
        text(alphabet, length).new_tree(&mut runner).unwrap()
    }

    #[test]
    fn strings_keep_to_their_alphabet_and_length() {
        for seed in 0..50 {
            let value = tree(b"abc", 2..=5, seed).current();
            assert!((2..=5).contains(&value.len()), "{value:?}");
            assert!(value.chars().all(|c| "abc".contains(c)), "{value:?}");
        }
    }

    #[test]
    fn every_character_and_length_comes_up() {
        let drawn: String = (0..50)
            .map(|seed| tree(b"abc", 0..=3, seed).current())
            .collect();
        assert!("abc".chars().all(|c| drawn.contains(c)), "{drawn}");
        let lengths: std::collections::BTreeSet<usize> = (0..50)
            .map(|seed| tree(b"abc", 0..=3, seed).current().len())
            .collect();
        assert_eq!(lengths.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
    }

    /// Shrinking while every simplification is kept ends at the shortest
    /// string of the alphabet's first character.
    #[test]
    fn shrinks_to_the_shortest_of_the_first_character() {
        let mut tree = tree(b"xyz", 3..=9, 7);
        while tree.simplify() {}
        assert_eq!(tree.current(), "xxx");
    }

    /// A failure that needs a `z` at the end: the shrunk string keeps it,
    /// and everything else is as simple as it gets.
    #[test]
    fn shrinking_keeps_what_the_failure_needs() {
        let fails = |s: &str| s.ends_with('z');
        let mut tree = (0..=u8::MAX)
            .map(|seed| tree(b"xyz", 4..=4, seed))
            .find(|tree| fails(&tree.current()) && tree.current() != "xxxz")
            .expect("some seed draws a failing string");
        loop {
            if !tree.simplify() {
                break;
            }
            if !fails(&tree.current()) && !tree.complicate() {
                break;
            }
        }
        assert_eq!(tree.current(), "xxxz");
    }
}
