//! The queue's error types. Errors that hand a value back keep it in a private field and
//! return it with `into_inner()`.

use core::fmt;

/// The error of [`Producer::push`](super::Producer::push): the queue was full. Holds the value back;
/// [`into_inner`](Full::into_inner) returns it.
///
/// ```
/// let (mut tx, _rx) = fencepost::spsc::channel(1);
/// tx.push("a").unwrap();
/// let err = tx.push("b").unwrap_err();
/// assert_eq!(err.into_inner(), "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub(super) T);

impl<T> Full<T> {
    /// The value that was not pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The error of [`Producer::push_blocking`](super::Producer::push_blocking): the consumer is gone, so the value could
/// never be received. Holds the value back; [`into_inner`](Abandoned::into_inner)
/// returns it.
///
/// ```
/// let (mut tx, rx) = fencepost::spsc::channel(1);
/// tx.push(1).unwrap();
/// drop(rx);
/// assert_eq!(tx.push_blocking(2).unwrap_err().into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Abandoned<T>(pub(super) T);

impl<T> Abandoned<T> {
    /// The value that was not pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Full").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> std::error::Error for Full<T> {}

impl<T> fmt::Debug for Abandoned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Abandoned").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Abandoned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the consumer is gone")
    }
}

impl<T> std::error::Error for Abandoned<T> {}

/// The error of [`Producer::push_blocking_timeout`](super::Producer::push_blocking_timeout)
/// and [`push_blocking_until`](super::Producer::push_blocking_until): the value was not
/// pushed, and why. [`into_inner`](PushTimeoutError::into_inner) returns it.
///
/// ```
/// use fencepost::spsc::{self, PushTimeoutError};
/// use std::time::Duration;
///
/// let (mut tx, rx) = spsc::channel(1);
/// tx.push(1).unwrap();
/// let err = tx.push_blocking_timeout(2, Duration::from_millis(1)).unwrap_err();
/// assert!(matches!(err, PushTimeoutError::Timeout(2)));
/// drop(rx);
/// let err = tx.push_blocking_timeout(3, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, PushTimeoutError::Abandoned(3));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PushTimeoutError<T> {
    /// The deadline passed while the queue was full.
    Timeout(T),
    /// The queue was full and the consumer is gone, so the value could never be received.
    Abandoned(T),
}

impl<T> PushTimeoutError<T> {
    /// The value that was not pushed.
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(v) | Self::Abandoned(v) => v,
        }
    }
}

impl<T> fmt::Debug for PushTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Timeout(_) => "Timeout",
            Self::Abandoned(_) => "Abandoned",
        };
        f.debug_tuple(name).finish_non_exhaustive()
    }
}

impl<T> fmt::Display for PushTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout(_) => "the queue stayed full until the deadline",
            Self::Abandoned(_) => "the consumer is gone",
        })
    }
}

impl<T> std::error::Error for PushTimeoutError<T> {}

/// The error of [`Consumer::pop_blocking_timeout`](super::Consumer::pop_blocking_timeout)
/// and [`pop_blocking_until`](super::Consumer::pop_blocking_until).
///
/// ```
/// use fencepost::spsc::{self, PopTimeoutError};
/// use std::time::Duration;
///
/// let (tx, mut rx) = spsc::channel::<u8>(1);
/// assert_eq!(rx.pop_blocking_timeout(Duration::from_millis(1)), Err(PopTimeoutError::Timeout));
/// drop(tx);
/// assert_eq!(rx.pop_blocking_timeout(Duration::from_millis(1)), Err(PopTimeoutError::Abandoned));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopTimeoutError {
    /// The deadline passed while the queue was empty.
    Timeout,
    /// The queue is empty and the producer is gone: nothing more will arrive.
    Abandoned,
}

impl fmt::Display for PopTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "the queue stayed empty until the deadline",
            Self::Abandoned => "the queue is empty and the producer is gone",
        })
    }
}

impl std::error::Error for PopTimeoutError {}

/// The error of the chunk methods (`write_chunk_uninit`, `read_chunk`): fewer slots
/// (or items) than asked for are available now; holds how many are.
///
/// ```
/// use fencepost::spsc::{self, ChunkError};
///
/// let (mut tx, _rx) = spsc::channel::<u8>(4);
/// assert_eq!(tx.write_chunk_uninit(5).unwrap_err(), ChunkError::TooFewSlots(4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// Only this many slots (for a write chunk) or items (for a read chunk) are
    /// available now.
    TooFewSlots(usize),
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewSlots(n) => write!(f, "only {n} slots are available"),
        }
    }
}

impl std::error::Error for ChunkError {}
