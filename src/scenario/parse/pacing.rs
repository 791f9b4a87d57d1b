//! `rate`, `rate_total` and `think_time`, in `[run]` or in the writing `[[actors]]` group
//! (one of the two places, and one of the three keys).

use super::super::actors::RawActor;
use super::super::model::RawRun;
use super::super::pacing::{default_seed, parse_rate, Pacing};
use super::{parse_duration, Locator};
use toml::Spanned;

/// The pacing keys of the writing `[[actors]]` group, if there is one (the other groups'
/// are refused by `actors::validate`).
pub(super) struct GroupPacing {
    rate: Option<Spanned<String>>,
    rate_total: Option<Spanned<String>>,
    think_time: Option<Spanned<String>>,
}

pub(super) fn of_writing_group(actors: &[RawActor]) -> Option<GroupPacing> {
    let a = actors.iter().find(|a| super::actors::is_writing(a.kind.get_ref()))?;
    Some(GroupPacing {
        rate: a.rate.clone(),
        rate_total: a.rate_total.clone(),
        think_time: a.think_time.clone(),
    })
}

/// The pacing of the `writing` actors, from `[run]` or their group.
pub(super) fn validate(
    run: &RawRun,
    group: Option<GroupPacing>,
    writing: u32,
    name: &str,
    here: &Locator,
) -> anyhow::Result<Pacing> {
    let group = group.unwrap_or(GroupPacing {
        rate: None,
        rate_total: None,
        think_time: None,
    });
    let keys = [
        ("run.rate", &run.rate),
        ("run.rate_total", &run.rate_total),
        ("run.think_time", &run.think_time),
        ("actors.rate", &group.rate),
        ("actors.rate_total", &group.rate_total),
        ("actors.think_time", &group.think_time),
    ];
    let given: Vec<(&str, &Spanned<String>)> = keys.iter().filter_map(|(k, v)| v.as_ref().map(|v| (*k, v))).collect();
    if let [(first, _), (second, span), ..] = given.as_slice() {
        return Err(here.at(
            *span,
            second,
            &format!(
                "is set together with {first}: a writer is paced one way. Keep one \
            of rate (transactions a second per writer), rate_total (a second for all writers together) and think_time \
            (a pause after each transaction), in [run] or in the writing [[actors]] group."
            ),
        ));
    }
    let seed = run
        .rate_seed
        .as_ref()
        .map(|s| *s.get_ref())
        .unwrap_or_else(|| default_seed(name));
    if let (Some(s), false) = (&run.rate_seed, given.iter().any(|(k, _)| k.contains("rate"))) {
        return Err(here.at(
            s,
            "run.rate_seed",
            "seeds the arrivals of run.rate or run.rate_total, and neither is set: remove it or set a rate.",
        ));
    }
    let Some((key, value)) = given.first() else {
        return Ok(Pacing::BackToBack);
    };
    let rate = |v: &Spanned<String>| {
        parse_rate(v.get_ref()).map_err(|why| {
            here.at(
                v,
                key,
                &format!(
                    "\"{}\": {why}; write e.g. \"2/s\", \"30/min\" or \"3600/h\".",
                    v.get_ref()
                ),
            )
        })
    };
    Ok(match key.rsplit('.').next() {
        Some("rate") => Pacing::Rate {
            per_writer: rate(value)?,
            total: None,
            seed,
        },
        Some("rate_total") => {
            let total = rate(value)?;
            Pacing::Rate {
                per_writer: total / f64::from(writing.max(1)),
                total: Some(total),
                seed,
            }
        }
        _ => Pacing::ThinkTime {
            think_ms: parse_duration(value, key, here)?.as_millis() as u64,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse_str, Pacing};

    fn parse(run_extra: &str, actors: &str) -> anyhow::Result<crate::scenario::Scenario> {
        parse_str(
            &format!("name = \"p\"\n[run]\nwriters = 4\nduration = \"5s\"\n{run_extra}\n{actors}"),
            "p.toml",
        )
    }

    fn err(run_extra: &str, actors: &str) -> String {
        format!("{:#}", parse(run_extra, actors).unwrap_err())
    }

    #[test]
    fn a_rate_per_writer_or_in_total_or_a_think_time() {
        let seed = super::default_seed("p");
        assert_eq!(
            parse("rate = \"2/s\"", "").unwrap().run.pacing,
            Pacing::Rate {
                per_writer: 2.0,
                total: None,
                seed
            }
        );
        assert_eq!(
            parse("rate_total = \"12/s\"\nrate_seed = 5", "").unwrap().run.pacing,
            Pacing::Rate {
                per_writer: 3.0,
                total: Some(12.0),
                seed: 5
            }
        );
        assert_eq!(
            parse("think_time = \"250ms\"", "").unwrap().run.pacing,
            Pacing::ThinkTime { think_ms: 250 }
        );
        assert_eq!(parse("", "").unwrap().run.pacing, Pacing::BackToBack);
        // The writing group's own key; rate_total spreads over that group's writers only.
        let group =
            "[[actors]]\nkind = \"append\"\ncount = 3\nrate_total = \"6/s\"\n[[actors]]\nkind = \"maintenance\"\n";
        assert_eq!(
            parse("", group).unwrap().run.pacing,
            Pacing::Rate {
                per_writer: 2.0,
                total: Some(6.0),
                seed
            }
        );
    }

    #[test]
    fn pacing_errors_name_the_key_and_what_to_write() {
        let e = err("rate = \"2/s\"\nthink_time = \"1s\"", "");
        assert!(
            e.contains("p.toml:6:") && e.contains("`run.think_time`") && e.contains("set together with run.rate"),
            "{e}"
        );
        let e = err("rate = \"2/day\"", "");
        assert!(e.contains("`run.rate`") && e.contains("write e.g. \"2/s\""), "{e}");
        let e = err("rate_seed = 3", "");
        assert!(e.contains("`run.rate_seed`") && e.contains("neither is set"), "{e}");
        let e = err(
            "rate = \"1/s\"",
            "[[actors]]\nkind = \"append\"\ncount = 3\nthink_time = \"1s\"\n[[actors]]\nkind = \"maintenance\"\n",
        );
        assert!(
            e.contains("`actors.think_time`") && e.contains("set together with run.rate"),
            "{e}"
        );
        let e = err("", "[[actors]]\nkind = \"reader\"\nrate = \"1/s\"\n");
        assert!(
            e.contains("`actors.rate`") && e.contains("does not apply to kind = \"reader\""),
            "{e}"
        );
    }

    #[test]
    fn a_paced_run_may_be_quiet_longer_before_it_counts_as_a_stall() {
        let back_to_back = parse("", "").unwrap().run.stall_after;
        assert_eq!(
            parse("think_time = \"30s\"", "").unwrap().run.stall_after,
            back_to_back + std::time::Duration::from_secs(30)
        );
        // 4 writers at 0.1/s: 0.4 arrivals a second in all, ten mean gaps = 25 s.
        assert_eq!(
            parse("rate = \"0.1/s\"", "").unwrap().run.stall_after,
            back_to_back + std::time::Duration::from_secs(25)
        );
    }
}
