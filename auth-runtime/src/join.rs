//! Futures polled together in the caller's task (no spawning: they may borrow the caller's
//! data), so a store that pipelines (Redis on one connection) answers independent steps in one
//! round trip.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

/// Both futures' outputs, once both are done.
pub(crate) async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut first, mut second) = (None, None);
    poll_fn(|cx| {
        if first.is_none()
            && let Poll::Ready(value) = a.as_mut().poll(cx)
        {
            first = Some(value);
        }
        if second.is_none()
            && let Poll::Ready(value) = b.as_mut().poll(cx)
        {
            second = Some(value);
        }
        match (first.take(), second.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                first = a;
                second = b;
                Poll::Pending
            }
        }
    })
    .await
}

/// Every future's output, in order, once all are done.
pub(crate) async fn all<F: Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<F>> = futures.into_iter().map(Some).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    poll_fn(|cx| {
        for (future, output) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(running) = future
                && let Poll::Ready(value) = std::pin::Pin::new(running).poll(cx)
            {
                *output = Some(value);
                *future = None;
            }
        }
        if pending.iter().all(Option::is_none) {
            Poll::Ready(done.iter_mut().filter_map(Option::take).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Waker};

    /// Polls `future` with a waker that does nothing until it is done (the futures here are
    /// never woken from outside).
    fn run<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    /// Pending `times` polls, then `value`.
    fn later(times: u32, value: i32) -> Pin<Box<dyn Future<Output = i32>>> {
        let mut left = times;
        Box::pin(poll_fn(move |_| {
            if left == 0 {
                Poll::Ready(value)
            } else {
                left -= 1;
                Poll::Pending
            }
        }))
    }

    #[test]
    fn every_output_comes_back_in_order_whichever_finishes_first() {
        assert_eq!(run(all(vec![later(2, 1), later(0, 2), later(5, 3)])), [1, 2, 3]);
        assert!(run(all(Vec::<Pin<Box<dyn Future<Output = i32>>>>::new())).is_empty());
        assert_eq!(run(both(later(3, 1), later(0, 2))), (1, 2));
    }
}
