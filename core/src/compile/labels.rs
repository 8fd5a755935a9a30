//! Label selectors, compiled once: `matchLabels` and `matchExpressions` as Kubernetes reads
//! them.

use crate::model::{LabelOperator, LabelSelector};

/// A compiled label selector.
#[derive(Debug, Clone)]
pub(crate) struct Labels(LabelSelector);

impl Labels {
    pub(crate) fn new(sel: &LabelSelector) -> Result<Self, String> {
        for req in &sel.match_expressions {
            let needs_values = matches!(req.operator, LabelOperator::In | LabelOperator::NotIn);
            if needs_values && req.values.is_empty() {
                return Err(format!("operator {:?} on `{}` needs at least one value", req.operator, req.key));
            }
            if !needs_values && !req.values.is_empty() {
                return Err(format!("operator {:?} on `{}` takes no values", req.operator, req.key));
            }
        }
        Ok(Labels(sel.clone()))
    }

    pub(crate) fn matches<'v>(&self, get: impl Fn(&str) -> Option<&'v str>) -> bool {
        self.0.match_labels.iter().all(|(k, v)| get(k) == Some(v.as_str()))
            && self.0.match_expressions.iter().all(|req| {
                let value = get(&req.key);
                match req.operator {
                    LabelOperator::In => value.is_some_and(|v| req.values.iter().any(|x| x == v)),
                    LabelOperator::NotIn => value.is_none_or(|v| !req.values.iter().any(|x| x == v)),
                    LabelOperator::Exists => value.is_some(),
                    LabelOperator::DoesNotExist => value.is_none(),
                }
            })
    }
}
