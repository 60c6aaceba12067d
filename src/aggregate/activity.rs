//! Activity: how many requests a subject made on each UTC day, for the report's charts.
//! One small counter per (subject, day), kept beside the distinct requests; counters of the
//! same day add up, so activities merge associatively and commutatively like the rest of
//! the aggregate. Events without a time have no day and are not counted here.

use crate::request::normalize::Stage;

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// The UTC day (days since 1970-01-01) of a time in microseconds since the epoch.
pub fn day_of(time: i64) -> i64 {
    time.div_euclid(DAY_MICROS)
}

/// The events of one subject on one UTC day, per stage as [`crate::aggregate::Evidence`]
/// counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayCount {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub received: u64,
    pub started: u64,
    pub completed: u64,
    /// Completed events the authorizer denied.
    pub denied: u64,
}

impl DayCount {
    /// The requests made that day: the count of the most-logged stage (a request is logged
    /// once per stage), as [`crate::aggregate::Evidence::count`] counts them.
    pub fn requests(&self) -> u64 {
        self.received.max(self.started).max(self.completed)
    }

    fn add(&mut self, other: &DayCount) {
        self.received += other.received;
        self.started += other.started;
        self.completed += other.completed;
        self.denied += other.denied;
    }
}

/// The day counters of one subject, sorted by day, one per day seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    days: Vec<DayCount>,
}

impl Activity {
    /// The counters, sorted by day.
    pub fn days(&self) -> &[DayCount] {
        &self.days
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The counter of `day`, created when missing. Logs come mostly in time order, so the
    /// last day is tried first.
    fn day_mut(&mut self, day: i64) -> &mut DayCount {
        let at = match self.days.last() {
            Some(last) if last.day == day => self.days.len() - 1,
            _ => match self.days.binary_search_by_key(&day, |d| d.day) {
                Ok(at) => at,
                Err(at) => {
                    self.days.insert(
                        at,
                        DayCount {
                            day,
                            ..DayCount::default()
                        },
                    );
                    at
                }
            },
        };
        &mut self.days[at]
    }

    /// Counts one event (nothing when it has no time).
    pub fn record(&mut self, stage: Stage, time: Option<i64>, denied: bool) {
        let Some(t) = time else { return };
        let d = self.day_mut(day_of(t));
        match stage {
            Stage::RequestReceived => d.received += 1,
            Stage::ResponseStarted => d.started += 1,
            Stage::Completed => d.completed += 1,
        }
        d.denied += u64::from(denied);
    }

    /// Adds a counter gathered elsewhere (a partial aggregate).
    pub fn add(&mut self, count: &DayCount) {
        self.day_mut(count.day).add(count);
    }

    pub fn merge(&mut self, other: &Activity) {
        if self.days.is_empty() {
            self.days.clone_from(&other.days);
            return;
        }
        for d in &other.days {
            self.add(d);
        }
    }

    pub fn clear(&mut self) {
        self.days.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = DAY_MICROS;

    fn activity(events: &[(Stage, i64, bool)]) -> Activity {
        let mut a = Activity::default();
        for &(stage, t, denied) in events {
            a.record(stage, Some(t), denied);
        }
        a
    }

    #[test]
    fn days_are_utc_days_and_requests_count_once_per_stage() {
        let a = activity(&[
            (Stage::RequestReceived, 3 * DAY + 5, false),
            (Stage::Completed, 3 * DAY + 6, true),
            (Stage::Completed, 3 * DAY - 1, false),
            (Stage::Completed, -1, false),
        ]);
        let days: Vec<(i64, u64, u64)> = a
            .days()
            .iter()
            .map(|d| (d.day, d.requests(), d.denied))
            .collect();
        assert_eq!(days, [(-1, 1, 0), (2, 1, 0), (3, 1, 1)]);
        let mut none = Activity::default();
        none.record(Stage::Completed, None, false);
        assert!(none.is_empty());
    }

    #[test]
    fn merge_is_associative_and_commutative() {
        let events: Vec<(Stage, i64, bool)> = (0..40)
            .map(|i| {
                let stage = [
                    Stage::RequestReceived,
                    Stage::ResponseStarted,
                    Stage::Completed,
                ][i % 3];
                (stage, ((i * 7919) % 13) as i64 * DAY + i as i64, i % 5 == 0)
            })
            .collect();
        let whole = activity(&events);
        for cut in [0, 1, 17, 39, 40] {
            for cut2 in [cut, (cut + 40) / 2, 40] {
                let a = activity(&events[..cut]);
                let b = activity(&events[cut..cut2]);
                let c = activity(&events[cut2..]);
                let mut left = a.clone();
                left.merge(&b);
                left.merge(&c);
                let mut right = b.clone();
                right.merge(&c);
                let mut grouped = a.clone();
                grouped.merge(&right);
                let mut cba = c.clone();
                cba.merge(&b);
                cba.merge(&a);
                assert_eq!(left, whole);
                assert_eq!(grouped, whole);
                assert_eq!(cba, whole);
            }
        }
    }
}
