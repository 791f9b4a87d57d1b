//! `permutations = "all"`: every interleaving of the sessions' step sequences that keeps
//! each session's own order, as PostgreSQL's isolation tester runs when a spec names none.

/// More orders than this are refused: each one sets up a fresh lake and runs every step.
pub const MAX_PERMUTATIONS: u64 = 1000;

/// How many interleavings `lengths` (steps per session) have: the multinomial coefficient
/// (sum)! / prod(len!), or `None` beyond u64.
pub fn count(lengths: &[usize]) -> Option<u64> {
    let mut total: u64 = 1;
    let mut placed: u64 = 0;
    for &len in lengths {
        // Choosing the positions of this session's steps among those placed so far:
        // C(placed + len, len), built up one factor at a time so it stays exact.
        for k in 1..=len as u64 {
            placed += 1;
            total = total.checked_mul(placed)? / k;
        }
    }
    Some(total)
}

/// Every interleaving of `sequences` (each a session's steps in order), in lexicographic
/// order of the session chosen at each position.
pub fn all(sequences: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let total: usize = sequences.iter().map(Vec::len).sum();
    let mut out = Vec::new();
    let mut next = vec![0usize; sequences.len()];
    let mut order = Vec::with_capacity(total);
    extend(sequences, &mut next, &mut order, total, &mut out);
    out
}

fn extend(
    sequences: &[Vec<usize>],
    next: &mut [usize],
    order: &mut Vec<usize>,
    total: usize,
    out: &mut Vec<Vec<usize>>,
) {
    if order.len() == total {
        out.push(order.clone());
        return;
    }
    for s in 0..sequences.len() {
        if next[s] < sequences[s].len() {
            order.push(sequences[s][next[s]]);
            next[s] += 1;
            extend(sequences, next, order, total, out);
            next[s] -= 1;
            order.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sessions_of_three_steps_have_exactly_twenty_orders_each_keeping_session_order() {
        let sequences = vec![vec![0, 1, 2], vec![3, 4, 5]];
        let orders = all(&sequences);
        assert_eq!(orders.len(), 20);
        assert_eq!(count(&[3, 3]), Some(20));
        let distinct: std::collections::BTreeSet<_> = orders.iter().collect();
        assert_eq!(distinct.len(), 20, "an order was produced twice");
        for o in &orders {
            for seq in &sequences {
                let positions: Vec<usize> = seq.iter().map(|s| o.iter().position(|x| x == s).unwrap()).collect();
                assert!(positions.windows(2).all(|w| w[0] < w[1]), "{o:?} breaks {seq:?}");
            }
        }
        assert_eq!(orders[0], vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(orders[19], vec![3, 4, 5, 0, 1, 2]);
    }

    #[test]
    fn counts_are_multinomials_and_overflow_is_none() {
        assert_eq!(count(&[2, 2, 2]), Some(90));
        assert_eq!(count(&[4]), Some(1));
        assert_eq!(count(&[]), Some(1));
        assert_eq!(all(&[vec![0, 1], vec![2, 3], vec![4, 5]]).len(), 90);
        assert_eq!(count(&[40, 40, 40]), None);
    }
}
