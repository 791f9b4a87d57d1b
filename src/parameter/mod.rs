//! Parameter scans (hyperfine's `--parameter-list`): `--param key=v1,v2,...` names a
//! scenario key and the values it takes; the points of a sweep are every combination.

use crate::error::bad_input;
use crate::scenario::Override;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Param {
    pub key: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Param {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Param> {
        // The key is checked like a --set key; the values are split on commas.
        let o: Override = s.parse().map_err(|_| {
            bad_input(format!(
                "--param {s}: expected KEY=V1,V2,..., e.g. --param \
            run.writers=4,8,16 (a scenario key and the values it takes)."
            ))
        })?;
        let values: Vec<String> = o.value.split(',').map(|v| v.trim().to_string()).collect();
        if values.iter().any(|v| v.is_empty()) {
            return Err(bad_input(format!(
                "--param {s}: an empty value in the list; write the values separated by \
                commas, e.g. --param {}=4,8,16.",
                o.key
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
            return Err(bad_input(format!(
                "--param {s}: the value {dup} is listed twice; list each value once and use --repeat for repetitions."
            )));
        }
        Ok(Param { key: o.key, values })
    }
}

/// One point of the matrix: a value for each parameter, in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub values: Vec<(String, String)>,
}

impl Point {
    pub fn overrides(&self) -> Vec<Override> {
        self.values
            .iter()
            .map(|(k, v)| Override {
                key: k.clone(),
                value: v.clone(),
            })
            .collect()
    }

    /// `run.writers=8 retry.ducklake.max_retry_count=100`, or `(scenario as written)`.
    pub fn label(&self) -> String {
        if self.values.is_empty() {
            return "(scenario as written)".into();
        }
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Every combination, the last parameter varying fastest; no parameter gives one point.
pub fn matrix(params: &[Param]) -> anyhow::Result<Vec<Point>> {
    let mut keys = std::collections::HashSet::new();
    if let Some(p) = params.iter().find(|p| !keys.insert(p.key.as_str())) {
        return Err(bad_input(format!(
            "--param {} is given twice; list all its values in one --param {}=A,B,C.",
            p.key, p.key
        )));
    }
    let mut points = vec![Point { values: Vec::new() }];
    for p in params {
        points = points
            .into_iter()
            .flat_map(|pt| {
                p.values.iter().map(move |v| {
                    let mut values = pt.values.clone();
                    values.push((p.key.clone(), v.clone()));
                    Point { values }
                })
            })
            .collect();
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_holds_every_combination_once() {
        let params: Vec<Param> = ["run.writers=4,8", "retry.ducklake.max_retry_count=10,100,1000"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let points = matrix(&params).unwrap();
        assert_eq!(points.len(), 6);
        assert_eq!(points[0].label(), "run.writers=4 retry.ducklake.max_retry_count=10");
        assert_eq!(points[5].get("run.writers"), Some("8"));
        assert_eq!(points.iter().collect::<std::collections::HashSet<_>>().len(), 6);
        assert_eq!(matrix(&[]).unwrap().len(), 1);
    }

    #[test]
    fn bad_lists_are_refused_with_an_example() {
        assert!("run.writers"
            .parse::<Param>()
            .unwrap_err()
            .to_string()
            .contains("KEY=V1,V2"));
        assert!("run.writers=4,,8"
            .parse::<Param>()
            .unwrap_err()
            .to_string()
            .contains("empty value"));
        assert!("run.writers=4,4"
            .parse::<Param>()
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let twice: Vec<Param> = ["run.writers=4", "run.writers=8"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(matrix(&twice).unwrap_err().to_string().contains("given twice"));
    }
}
