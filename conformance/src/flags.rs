//! Parsers of numeric flags, checked when the command line is read (exit 1 with the flag named),
//! so a value no run can use never reaches a timer, a semaphore or a rate limiter.

/// Seconds of a timeout: a number in (0, 86400].
pub fn seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err(format!(
            "`{s}`: a timeout is more than 0 and at most 86400 seconds"
        ))
    }
}

/// Requests per second: a number in [0.001, 1000000].
pub fn rate(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of requests per second"))?;
    if v.is_finite() && (0.001..=1_000_000.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "`{s}`: a rate is between 0.001 and 1000000 requests per second (leave --rate out for no limit)"
        ))
    }
}

/// Requests or mocks at once: 1 to 256.
pub fn jobs(s: &str) -> Result<usize, String> {
    let v: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (1..=256).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}`: between 1 and 256 at once"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_no_run_can_use_are_refused() {
        assert!(seconds("18446744073709551615").is_err());
        assert!(seconds("0").is_err());
        assert!(seconds("NaN").is_err());
        assert_eq!(seconds("2.5"), Ok(2.5));
        assert!(rate("1e-300").is_err());
        assert!(rate("0").is_err());
        assert!(rate("NaN").is_err());
        assert!(rate("inf").is_err());
        assert_eq!(rate("30"), Ok(30.0));
        assert!(jobs("18446744073709551615").is_err());
        assert!(jobs("0").is_err());
        assert_eq!(jobs("4"), Ok(4));
    }
}
