//! The five-level scale of NIST SP 800-30 r1 (very low … very high) and its risk matrix.

use serde::{Deserialize, Serialize};

/// A qualitative level on SP 800-30's scale, for likelihood, impact and risk alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    VeryLow,
    Low,
    Moderate,
    High,
    VeryHigh,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::VeryLow,
        Level::Low,
        Level::Moderate,
        Level::High,
        Level::VeryHigh,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::VeryLow => "very_low",
            Level::Low => "low",
            Level::Moderate => "moderate",
            Level::High => "high",
            Level::VeryHigh => "very_high",
        }
    }

    /// 0 (very low) … 4 (very high).
    pub fn rank(self) -> usize {
        self as usize
    }

    /// The level `steps` below this one, never below very low.
    pub fn lowered(self, steps: usize) -> Level {
        Level::ALL[self.rank().saturating_sub(steps)]
    }

    /// The level of risk of a threat event of this likelihood with `impact`: SP 800-30
    /// r1 Appendix I, Table I-2.
    pub fn risk(likelihood: Level, impact: Level) -> Level {
        use Level::{High as H, Low as L, Moderate as M, VeryHigh as VH, VeryLow as VL};
        // Rows: likelihood very low … very high; columns: impact very low … very high.
        const TABLE: [[Level; 5]; 5] = [
            [VL, VL, VL, L, L],
            [VL, L, L, L, M],
            [VL, L, M, M, H],
            [VL, L, M, H, VH],
            [VL, L, M, H, VH],
        ];
        TABLE[likelihood.rank()][impact.rank()]
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_i2_corners_and_monotony() {
        assert_eq!(
            Level::risk(Level::VeryHigh, Level::VeryHigh),
            Level::VeryHigh
        );
        assert_eq!(Level::risk(Level::VeryLow, Level::VeryHigh), Level::Low);
        assert_eq!(Level::risk(Level::VeryHigh, Level::VeryLow), Level::VeryLow);
        assert_eq!(Level::risk(Level::Moderate, Level::High), Level::Moderate);
        assert_eq!(Level::risk(Level::Low, Level::VeryHigh), Level::Moderate);
        // Lower likelihood or impact never raises risk.
        for l in Level::ALL {
            for i in Level::ALL {
                let r = Level::risk(l, i);
                assert!(Level::risk(l.lowered(1), i) <= r);
                assert!(Level::risk(l, i.lowered(1)) <= r);
            }
        }
    }

    #[test]
    fn lowering_stops_at_very_low() {
        assert_eq!(Level::High.lowered(2), Level::Low);
        assert_eq!(Level::Low.lowered(3), Level::VeryLow);
    }
}
