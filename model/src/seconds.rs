//! Durations in the JSON report as seconds (a number), which every reader
//! understands, rather than serde's `{secs, nanos}`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    d.as_secs_f64().serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let seconds = f64::deserialize(d)?;
    Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(|d| d.as_secs_f64()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?.map(|s| Duration::try_from_secs_f64(s).map_err(serde::de::Error::custom)).transpose()
    }
}

/// `[(name, duration)]` as `[{"name": …, "seconds": …}]`.
pub mod named {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Named {
        name: String,
        seconds: f64,
    }

    pub fn serialize<S: Serializer>(pairs: &[(String, Duration)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(pairs.iter().map(|(name, d)| Named { name: name.clone(), seconds: d.as_secs_f64() }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Duration)>, D::Error> {
        Vec::<Named>::deserialize(d)?
            .into_iter()
            .map(|n| Ok((n.name, Duration::try_from_secs_f64(n.seconds).map_err(serde::de::Error::custom)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Timed {
        #[serde(with = "super")]
        took: Duration,
        #[serde(with = "super::option")]
        started: Option<Duration>,
        #[serde(with = "super::named")]
        phases: Vec<(String, Duration)>,
    }

    #[test]
    fn durations_are_seconds_both_ways() {
        let timed = Timed { took: Duration::from_millis(1500), started: None, phases: vec![("facts".into(), Duration::from_millis(250))] };
        let text = serde_json::to_string(&timed).unwrap();
        assert_eq!(text, r#"{"took":1.5,"started":null,"phases":[{"name":"facts","seconds":0.25}]}"#);
        assert_eq!(serde_json::from_str::<Timed>(&text).unwrap(), timed);
        assert!(serde_json::from_str::<Timed>(r#"{"took":-1,"started":null,"phases":[]}"#).is_err());
    }
}
