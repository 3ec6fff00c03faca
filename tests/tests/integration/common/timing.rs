//! Timing comparisons without a wall-clock threshold: two operations sampled in alternating
//! order in one run, compared as the ratio of their medians.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Held by each timing comparison while it samples, so that two of them never run at once and
/// fall into step with each other's work (which once made one series five times slower).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `rounds` samples of `a` and of `b`, in the order a-b, b-a, a-b, ... (a drift in the machine's
/// load falls on both alike); the medians of each, and their ratio `b / a`.
pub fn ratio_of_medians(rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration, f64) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (mut first, mut second) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    let time = |operation: &mut dyn FnMut(), samples: &mut Vec<Duration>| {
        let started = Instant::now();
        operation();
        samples.push(started.elapsed());
    };
    for round in 0..rounds {
        if round % 2 == 0 {
            time(&mut a, &mut first);
            time(&mut b, &mut second);
        } else {
            time(&mut b, &mut second);
            time(&mut a, &mut first);
        }
    }
    first.sort();
    second.sort();
    let (a, b) = (first[rounds / 2], second[rounds / 2]);
    (a, b, b.as_secs_f64() / a.as_secs_f64())
}
