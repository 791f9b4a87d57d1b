//! Delta debugging (Zeller's ddmin, the "reduce to complement" half): drop chunks of whole
//! transactions while the schedule still fails, halving the chunk down to one; then the
//! same with single statements inside the transactions left (BEGIN and COMMIT stay: they
//! make the transactions). Each candidate is run several times by `still_fails`, since a
//! race may fail only some of the time, and must pass when its transactions run one after
//! another (`replay::serial`): otherwise it shows no race at all.

use super::replay::TxnPlan;

/// `plans` with as few transactions, then statements, as still fail.
pub fn shrink(
    plans: Vec<TxnPlan>,
    still_fails: &mut dyn FnMut(&[TxnPlan]) -> anyhow::Result<bool>,
) -> anyhow::Result<Vec<TxnPlan>> {
    let mut plans = ddmin(plans, &mut |c: &[TxnPlan]| !c.is_empty(), &mut *still_fails)?;
    // Statements, one transaction at a time, each as a list to shrink.
    for t in 0..plans.len() {
        let statements = plans[t].statements.clone();
        let kept = {
            let mut test = |c: &[String]| -> anyhow::Result<bool> {
                let mut candidate = plans.clone();
                candidate[t].statements = c.to_vec();
                still_fails(&candidate)
            };
            ddmin(statements, &mut |_: &[String]| true, &mut test)?
        };
        plans[t].statements = kept;
    }
    Ok(plans)
}

/// The smallest sub-list (1-minimal by chunks) of `items` that `fails`; `allowed` says
/// which candidates may be tried at all.
fn ddmin<T: Clone>(
    mut items: Vec<T>,
    allowed: &mut dyn FnMut(&[T]) -> bool,
    fails: &mut dyn FnMut(&[T]) -> anyhow::Result<bool>,
) -> anyhow::Result<Vec<T>> {
    let mut chunk = items.len().div_ceil(2).max(1);
    loop {
        let mut removed = false;
        let mut start = 0;
        while start < items.len() && !crate::util::interrupt::is_interrupted() {
            let end = (start + chunk).min(items.len());
            let candidate: Vec<T> = items[..start].iter().chain(&items[end..]).cloned().collect();
            if candidate.len() < items.len() && allowed(&candidate) && fails(&candidate)? {
                items = candidate;
                removed = true;
            } else {
                start = end;
            }
        }
        if (chunk == 1 && !removed) || crate::util::interrupt::is_interrupted() {
            return Ok(items);
        }
        if !removed {
            chunk = chunk.div_ceil(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_the_two_items_that_fail_together() {
        let mut tries = 0;
        let got = ddmin((0..9).collect(), &mut |_: &[i32]| true, &mut |c: &[i32]| {
            tries += 1;
            Ok(c.contains(&2) && c.contains(&7))
        })
        .unwrap();
        assert_eq!(got, vec![2, 7]);
        assert!(tries < 30, "{tries} tries");
    }

    #[test]
    fn statements_are_dropped_inside_the_transactions_left() {
        let plan = |writer| TxnPlan {
            writer,
            txn: 0,
            statements: vec!["DELETE".into(), "INSERT".into()],
            begin_at: 0.0,
            commit_at: 1.0,
        };
        // Fails while w1 and w2 both insert; the DELETEs and w3 do not matter.
        let got = shrink(vec![plan(1), plan(2), plan(3)], &mut |c| {
            Ok([1, 2].iter().all(|w| {
                c.iter()
                    .any(|p| p.writer == *w && p.statements.contains(&"INSERT".into()))
            }))
        })
        .unwrap();
        assert_eq!(got.iter().map(|p| p.writer).collect::<Vec<_>>(), [1, 2]);
        assert!(got.iter().all(|p| p.statements == ["INSERT"]));
    }
}
