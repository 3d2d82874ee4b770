//! `tests.toml` → a checked `TestPlan`: what to send, what counts as a pass (design §2).

use serde::Deserialize;
use std::time::Duration;

/// A reply line longer than this is not a measurement; the reader stops there.
pub const MAX_LINE: usize = 256;
const DEFAULT_TIMEOUT_S: f64 = 5.0;
const DEFAULT_READY_TIMEOUT_S: f64 = 15.0;

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "tests.toml: `ready = {…}` and [[test]] tables"
)]
struct RawPlan {
    #[serde(default)]
    ready: Option<RawReady>,
    #[serde(default, rename = "test")]
    tests: Vec<RawTest>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { expect = \"READY\", timeout_s = 15 }"
)]
struct RawReady {
    expect: String,
    #[serde(default)]
    timeout_s: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[test]] table with name, send and limits or expect"
)]
struct RawTest {
    name: Option<String>,
    send: Option<String>,
    unit: Option<String>,
    low: Option<f64>,
    high: Option<f64>,
    expect: Option<String>,
    retries: Option<u32>,
    timeout_s: Option<f64>,
    stop_on_fail: Option<bool>,
}

/// What makes a reply a pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// `OK` is enough.
    Ok,
    /// `OK <value> [unit]` with low ≤ value ≤ high (either bound may be open).
    Range {
        low: Option<f64>,
        high: Option<f64>,
        unit: Option<String>,
    },
    /// `OK <text>` where the text equals this.
    Expect(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestSpec {
    pub name: String,
    pub send: String,
    pub check: Check,
    pub retries: u32,
    pub timeout: Duration,
    pub stop_on_fail: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestPlan {
    /// The line the test firmware prints when its test mode is up.
    pub ready: Option<(String, Duration)>,
    pub tests: Vec<TestSpec>,
}

fn seconds(key: &str, v: Option<f64>, default: f64) -> Result<Duration, String> {
    let s = v.unwrap_or(default);
    if !(s.is_finite() && s > 0.0 && s <= 600.0) {
        return Err(format!(
            "key `{key}`: {s} is not a timeout in seconds (0 < s ≤ 600)"
        ));
    }
    Ok(Duration::from_secs_f64(s))
}

impl TestPlan {
    pub fn parse(text: &str) -> Result<TestPlan, String> {
        let raw: RawPlan = toml::from_str(text).map_err(|e| e.to_string())?;
        let ready = match raw.ready {
            Some(r) if r.expect.trim().is_empty() => return Err("key `ready.expect`: empty".into()),
            Some(r) => Some((
                r.expect.trim().to_string(),
                seconds("ready.timeout_s", r.timeout_s, DEFAULT_READY_TIMEOUT_S)?,
            )),
            None => None,
        };
        let mut tests = Vec::new();
        for (i, t) in raw.tests.into_iter().enumerate() {
            let at = |key: &str| format!("key `test[{}].{key}`", i + 1);
            let name = t
                .name
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| format!("{}: missing", at("name")))?;
            if name.len() > 16
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "{}: `{name}` must be 1-16 letters, digits, _ or - (the OLED shows it)",
                    at("name")
                ));
            }
            if tests.iter().any(|o: &TestSpec| o.name == name) {
                return Err(format!("{}: `{name}` is used twice", at("name")));
            }
            let send = t
                .send
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| format!("{}: missing (test `{name}`)", at("send")))?;
            if send.contains(['\n', '\r']) || send.len() > MAX_LINE {
                return Err(format!(
                    "{}: one line of at most {MAX_LINE} characters",
                    at("send")
                ));
            }
            for (key, v) in [("low", t.low), ("high", t.high)] {
                if v.is_some_and(|v| !v.is_finite()) {
                    return Err(format!("{}: not a number", at(key)));
                }
            }
            let check = match (t.low, t.high, t.expect) {
                (Some(l), Some(h), _) if l > h => {
                    return Err(format!(
                        "{}: low {l} is above high {h} (test `{name}`)",
                        at("low")
                    ));
                }
                (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                    return Err(format!(
                        "{}: give limits or `expect`, not both (test `{name}`)",
                        at("expect")
                    ));
                }
                (None, None, Some(text)) => Check::Expect(text),
                (None, None, None) if t.unit.is_some() => {
                    return Err(format!(
                        "{}: a unit without limits (test `{name}`)",
                        at("unit")
                    ));
                }
                (None, None, None) => Check::Ok,
                (low, high, None) => Check::Range {
                    low,
                    high,
                    unit: t.unit,
                },
            };
            tests.push(TestSpec {
                name,
                send: send.trim().to_string(),
                check,
                retries: t.retries.unwrap_or(0).min(10),
                timeout: seconds(
                    &format!("test[{}].timeout_s", i + 1),
                    t.timeout_s,
                    DEFAULT_TIMEOUT_S,
                )?,
                stop_on_fail: t.stop_on_fail.unwrap_or(true),
            });
        }
        if tests.is_empty() {
            // Nothing to fail would pass every board, which is worse than no tests.toml at all.
            return Err("no test: add a `[[test]]`, or leave `tests` out of bundle.toml".into());
        }
        Ok(TestPlan { ready, tests })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_bundles_plan_parses() {
        let plan =
            TestPlan::parse(include_str!("../../../bundles/example-argon/tests.toml")).unwrap();
        assert!(plan.ready.is_some());
        assert!(plan.tests.len() >= 4);
        assert!(plan
            .tests
            .iter()
            .any(|t| matches!(t.check, Check::Range { .. })));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("[[test]]\nname = \"a\"\n", "test[1].send"),
            (
                "[[test]]\nname = \"a\"\nsend = \"X\"\nlow = 2.0\nhigh = 1.0\n",
                "low 2 is above high 1",
            ),
            ("[[test]]\nname = \"a\"\nsend = \"X\"\nlimit = 3\n", "limit"),
            ("[[test]]\nname = \"a b\"\nsend = \"X\"\n", "test[1].name"),
            (
                "[[test]]\nname = \"a\"\nsend = \"X\"\nlow = 1.0\nexpect = \"y\"\n",
                "not both",
            ),
            (
                "[[test]]\nname = \"a\"\nsend = \"X\"\ntimeout_s = -1\n",
                "test[1].timeout_s",
            ),
            (
                "[[test]]\nname = \"a\"\nsend = \"X\"\n[[test]]\nname = \"a\"\nsend = \"Y\"\n",
                "used twice",
            ),
            ("ready = { expect = \"\" }\n", "ready.expect"),
        ];
        for (text, want) in cases {
            let e = TestPlan::parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_plan_without_tests_is_refused() {
        // It would pass every board.
        for text in ["", "ready = { expect = \"READY\" }\n"] {
            let e = TestPlan::parse(text).unwrap_err();
            assert!(e.contains("no test"), "{text:?}: {e}");
        }
    }
}
