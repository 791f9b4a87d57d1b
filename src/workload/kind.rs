//! Which workload a scenario runs: written as its name (`"bank"`) in scenario files and
//! reports, read back through the registry, and asked (it derefs to the [`Workload`]).

use super::Workload;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy)]
pub struct WorkloadKind(&'static dyn Workload);

impl WorkloadKind {
    pub fn of(workload: &'static dyn Workload) -> Self {
        WorkloadKind(workload)
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl std::ops::Deref for WorkloadKind {
    type Target = dyn Workload;
    fn deref(&self) -> &(dyn Workload + 'static) {
        self.0
    }
}

impl Default for WorkloadKind {
    /// `append`, the workload of a scenario without `[workload]`.
    fn default() -> Self {
        WorkloadKind(super::all()[0])
    }
}

impl PartialEq for WorkloadKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for WorkloadKind {}

/// The bare name, as messages print it.
impl std::fmt::Debug for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for WorkloadKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for WorkloadKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        super::kind(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown variant `{name}`, expected one of {}", super::names()))
        })
    }
}
