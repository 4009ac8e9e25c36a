//! The mock's clock: real by default, pinned by a scenario or `--clock`, so "today" and "this
//! month" in answers are reproducible.

use std::time::{SystemTime, UNIX_EPOCH};

use model::world::month_start;

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock (UTC).
    Real,
    /// A fixed Unix time.
    Pinned(i64),
}

impl Clock {
    /// Unix seconds now.
    pub fn now(&self) -> i64 {
        match *self {
            Clock::Real => self.at(SystemTime::now()),
            Clock::Pinned(t) => t,
        }
    }

    /// Unix seconds when the real time was `real`: `real` itself on the system clock, the pinned
    /// time on a pinned one. A request reads the system clock once and shares the reading
    /// (dispatch, the journal) instead of reading it at each step.
    pub fn at(&self, real: SystemTime) -> i64 {
        match *self {
            Clock::Real => real
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            Clock::Pinned(t) => t,
        }
    }

    /// Today's 00:00:00 and 23:59:59 (UTC) as Unix seconds.
    pub fn today(&self) -> (i64, i64) {
        today_bounds(self.now())
    }
}

/// Unix milliseconds of a real time (0 before 1970).
pub fn unix_ms(real: SystemTime) -> u128 {
    real.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// 00:00:00 and 23:59:59 of the day holding `t`.
pub fn today_bounds(t: i64) -> (i64, i64) {
    let start = t.div_euclid(86_400) * 86_400;
    (start, start + 86_399)
}

/// First second of the month holding `t`.
pub fn this_month_start(t: i64) -> i64 {
    month_start(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_gives_its_day_bounds() {
        let c = Clock::Pinned(1_795_000_000 + 3_600);
        let (s, e) = c.today();
        assert_eq!(s % 86_400, 0);
        assert_eq!(e - s, 86_399);
        assert!(s <= c.now() && c.now() <= e);
    }

    #[test]
    fn a_reading_of_the_real_clock_is_the_real_clocks_time_and_not_a_pinned_ones() {
        let real = UNIX_EPOCH + std::time::Duration::from_millis(1_795_000_000_123);
        assert_eq!(Clock::Real.at(real), 1_795_000_000);
        assert_eq!(Clock::Pinned(7).at(real), 7);
        assert_eq!(unix_ms(real), 1_795_000_000_123);
    }
}
