//! The state one run carries between steps: the client, the instance under test, the outcomes
//! so far and the progress bar.

use std::collections::HashMap;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::cases::{self, Case, Verdict};
use super::checks::Eval;
use super::{ConformConfig, Outcome};
use crate::openapi::OpenApiHandle;
use crate::produce_client::{Body, ProduceClient, Reply, SendError};

pub(super) struct Runner<'a> {
    pub config: &'a ConformConfig,
    pub client: ProduceClient,
    pub sandbox: Option<&'a OpenApiHandle>,
    /// From the first `newInstance`; every later instance case works on it.
    pub instance_id: Option<String>,
    catalogue: Vec<Case>,
    /// Catalogue index → outcome; anything left unset is reported as skipped.
    outcomes: HashMap<usize, Outcome>,
    /// Cases not in the catalogue (a bug in the steps): kept so nothing is lost silently.
    strays: Vec<Outcome>,
    bar: ProgressBar,
    last: Instant,
}

impl<'a> Runner<'a> {
    pub fn new(
        config: &'a ConformConfig,
        client: ProduceClient,
        sandbox: Option<&'a OpenApiHandle>,
    ) -> Self {
        let catalogue = cases::catalogue();
        let bar = if config.progress {
            let bar = ProgressBar::new(catalogue.len() as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos:>3}/{len} {elapsed:>4} {wide_msg}")
            {
                bar.set_style(style);
            }
            // Keeps the elapsed time moving while a slow target uses up its budget.
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
            bar
        } else {
            ProgressBar::hidden()
        };
        Self {
            config,
            client,
            sandbox,
            instance_id: None,
            catalogue,
            outcomes: HashMap::new(),
            strays: Vec::new(),
            bar,
            last: Instant::now(),
        }
    }

    /// Shows what is running now.
    pub fn status(&self, message: &str) {
        self.bar.set_message(message.to_owned());
    }

    /// Records a result: `Ok` passes, `Err` fails (or warns, for an optional case).
    pub fn record(&mut self, id: &str, result: Result<String, String>) {
        self.put(id, |case, millis| cases::outcome(case, result, millis));
    }

    /// Records a debugger check; `None` (could not be checked) becomes a skip naming `why`.
    pub fn record_eval(&mut self, id: &str, eval: Eval, why: &str) {
        match eval {
            Some(result) => self.record(id, result),
            None => self.skip(id, why),
        }
    }

    pub fn skip(&mut self, id: &str, reason: &str) {
        self.put(id, |case, millis| Outcome {
            case: case.clone(),
            verdict: Verdict::Skip,
            detail: reason.to_owned(),
            millis,
        });
    }

    fn put(&mut self, id: &str, make: impl FnOnce(&Case, u64) -> Outcome) {
        let millis = u64::try_from(self.last.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last = Instant::now();
        match self.catalogue.iter().position(|c| c.id == id) {
            Some(index) => {
                let outcome = make(&self.catalogue[index], millis);
                if self.outcomes.insert(index, outcome).is_none() {
                    self.bar.inc(1);
                }
            }
            None => {
                let case = Case {
                    id: id.to_owned(),
                    title: id.to_owned(),
                    rule: "koogate conform: case missing from the catalogue",
                    required: true,
                };
                self.strays.push(make(&case, millis));
            }
        }
    }

    /// Skips every not yet recorded case whose id starts with `prefix`.
    pub fn skip_all(&mut self, prefix: &str, reason: &str) {
        let ids: Vec<String> = self
            .catalogue
            .iter()
            .enumerate()
            .filter(|(i, c)| c.id.starts_with(prefix) && !self.outcomes.contains_key(i))
            .map(|(_, c)| c.id.clone())
            .collect();
        for id in ids {
            self.skip(&id, reason);
        }
    }

    /// Signs correctly and sends.
    pub async fn call(&self, body: &Body) -> Result<Reply, SendError> {
        self.client.call(body).await
    }

    /// Every catalogue case in order (unrecorded ones skipped), then strays.
    pub fn finish(mut self) -> Vec<Outcome> {
        self.bar.finish_and_clear();
        let mut all = Vec::with_capacity(self.catalogue.len() + self.strays.len());
        for (index, case) in self.catalogue.iter().enumerate() {
            all.push(self.outcomes.remove(&index).unwrap_or_else(|| Outcome {
                case: case.clone(),
                verdict: Verdict::Skip,
                detail: "not run: an earlier step could not set it up".to_owned(),
                millis: 0,
            }));
        }
        all.append(&mut self.strays);
        all
    }
}
