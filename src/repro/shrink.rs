//! Delta debugging (Zeller's ddmin, the "reduce to complement" half): drop chunks of whole
//! transactions while the schedule still fails, halving the chunk down to one; then the
//! same with single statements inside the transactions left (BEGIN and COMMIT stay: they
//! make the transactions); then with the rows each transaction writes, where the workload
//! can write a subset of them (`Generator::txn_sql_rows`). Each candidate is run several
//! times by `still_fails`, since a race may fail only some of the time, and must pass when
//! its transactions run one after another (`replay::serial`): otherwise it shows no race.

use super::replay::TxnPlan;

/// `plan` rebuilt writing only some of its rows (None: it cannot).
pub type WithRows<'a> = &'a dyn Fn(&TxnPlan, &[usize]) -> Option<TxnPlan>;

/// `plans` with as few transactions, then statements, then rows as still fail.
pub fn shrink(
    plans: Vec<TxnPlan>,
    with_rows: WithRows,
    still_fails: &mut dyn FnMut(&[TxnPlan]) -> anyhow::Result<bool>,
) -> anyhow::Result<Vec<TxnPlan>> {
    let mut plans = ddmin(plans, &mut |c: &[TxnPlan]| !c.is_empty(), &mut *still_fails)?;
    // Statements, one transaction at a time, each as a list of positions to shrink.
    for t in 0..plans.len() {
        let kept = {
            let mut test = |c: &[usize]| -> anyhow::Result<bool> {
                let mut candidate = plans.clone();
                candidate[t].kept = c.to_vec();
                still_fails(&candidate)
            };
            ddmin(plans[t].kept.clone(), &mut |_: &[usize]| true, &mut test)?
        };
        plans[t].kept = kept;
    }
    // Rows, likewise; a candidate keeps at least one (an empty key list is no statement).
    for t in 0..plans.len() {
        let Some(rows) = plans[t].rows.clone() else { continue };
        let kept = {
            let mut allowed = |c: &[usize]| with_rows(&plans[t], c).is_some();
            let mut test = |c: &[usize]| -> anyhow::Result<bool> {
                let mut candidate = plans.clone();
                candidate[t] = with_rows(&plans[t], c).expect("allowed");
                still_fails(&candidate)
            };
            ddmin(rows.clone(), &mut allowed, &mut test)?
        };
        if kept.len() < rows.len() {
            plans[t] = with_rows(&plans[t], &kept).expect("it was a candidate");
        }
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
        let plan = |writer| TxnPlan::new(writer, 0, vec!["DELETE".into(), "INSERT".into()], 0.0, 1.0);
        // Fails while w1 and w2 both insert; the DELETEs and w3 do not matter.
        let got = shrink(vec![plan(1), plan(2), plan(3)], &|_, _| None, &mut |c| {
            Ok([1, 2].iter().all(|w| {
                c.iter()
                    .any(|p| p.writer == *w && p.statements().any(|s| s == "INSERT"))
            }))
        })
        .unwrap();
        assert_eq!(got.iter().map(|p| p.writer).collect::<Vec<_>>(), [1, 2]);
        assert!(got.iter().all(|p| p.statements().collect::<Vec<_>>() == ["INSERT"]));
    }

    /// A plan whose one statement lists its rows: `INSERT k0,k2` for rows [0, 2].
    fn rows_plan(writer: u32, rows: &[usize]) -> TxnPlan {
        let sql = |rows: &[usize]| {
            format!(
                "INSERT {}",
                rows.iter().map(|r| format!("k{r}")).collect::<Vec<_>>().join(",")
            )
        };
        let mut p = TxnPlan::new(writer, 0, vec![sql(rows)], 0.0, 1.0);
        p.rows = Some(rows.to_vec());
        p
    }

    #[test]
    fn rows_are_dropped_down_to_the_ones_the_failure_needs() {
        let with_rows = |p: &TxnPlan, rows: &[usize]| (!rows.is_empty()).then(|| rows_plan(p.writer, rows));
        // Fails while both writers insert key 1; keys 0 and 2 do not matter.
        let got = shrink(
            vec![rows_plan(1, &[0, 1, 2]), rows_plan(2, &[0, 1, 2])],
            &with_rows,
            &mut |c| {
                Ok(c.len() == 2
                    && c.iter()
                        .all(|p| p.statements().any(|s| s.split([' ', ',']).any(|k| k == "k1"))))
            },
        )
        .unwrap();
        assert!(got.iter().all(|p| p.rows.as_deref() == Some(&[1][..])), "{got:?}");
        assert!(
            got.iter().all(|p| p.statements().collect::<Vec<_>>() == ["INSERT k1"]),
            "{got:?}"
        );
    }
}
