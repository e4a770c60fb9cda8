//! A small table of IEEE 11073-10101 (MDC) nomenclature codes: those the IHE PCD
//! profiles use for infusion pumps, alarms and the vital signs beside them.
//!
//! In HL7 an MDC code is written context-free (`partition × 65536 + term code`) with
//! its reference id, e.g. `69986^MDC_DEV_PUMP_INFUS_VMD^MDC`. The codes below are the
//! ones that appear in the IHE PCD Technical Framework's examples.

/// One nomenclature term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// Context-free code.
    pub code: u32,
    /// Reference id, `MDC_…`.
    pub reference_id: &'static str,
    pub description: &'static str,
}

impl Term {
    /// The partition (upper 16 bits of the context-free code).
    pub fn partition(&self) -> Partition {
        Partition::of(self.code)
    }
}

/// IEEE 11073-10101 code partitions used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// 1: object infrastructure (devices, channels).
    Object,
    /// 2: supervisory control and data acquisition (measurements and settings).
    Scada,
    /// 3: events and alerts.
    Event,
    /// 4: dimensions (units).
    Dimension,
    /// 8: infrastructure (profiles).
    Infrastructure,
    Other(u16),
}

impl Partition {
    pub fn of(code: u32) -> Partition {
        match code >> 16 {
            1 => Partition::Object,
            2 => Partition::Scada,
            3 => Partition::Event,
            4 => Partition::Dimension,
            8 => Partition::Infrastructure,
            p => Partition::Other(u16::try_from(p).unwrap_or(u16::MAX)),
        }
    }
}

macro_rules! terms {
    ($($code:literal $id:ident $desc:literal;)*) => {
        /// Every term of the table, sorted by code.
        pub const TERMS: &[Term] = &[$(Term { code: $code, reference_id: stringify!($id), description: $desc }),*];
    };
}

terms! {
    4262 MDC_DEV_ECG_VMD "ECG virtual medical device";
    4263 MDC_DEV_ECG_CHAN "ECG channel";
    68063 MDC_ATTR_PT_WEIGHT "patient weight";
    68480 MDC_ATTR_ALERT_SOURCE "alert source";
    68481 MDC_ATTR_EVENT_PHASE "event phase";
    68482 MDC_ATTR_ALARM_STATE "alarm state";
    68483 MDC_ATTR_ALARM_INACTIVATION_STATE "alarm inactivation state";
    68487 MDC_ATTR_EVT_COND "event condition";
    68488 MDC_ATTR_EVT_SOURCE "event source";
    69642 MDC_DEV_ANALY_SAT_O2_VMD "SpO2 analyser virtual medical device";
    69965 MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS "multiparameter physiological monitor";
    69985 MDC_DEV_PUMP_INFUS_MDS "infusion pump";
    69986 MDC_DEV_PUMP_INFUS_VMD "infusion pump virtual medical device";
    70049 MDC_DEV_PUMP_INFUS_LVP_MDS "large-volume infusion pump";
    70050 MDC_DEV_PUMP_INFUS_LVP_VMD "large-volume infusion pump virtual medical device";
    70067 MDC_DEV_PUMP_DELIVERY_INFO "pump delivery information";
    70071 MDC_DEV_PUMP_INFUSATE_SOURCE_PRIMARY "primary infusate source";
    70675 MDC_DEV_PULS_CHAN "pulse channel";
    70686 MDC_DEV_PRESS_BLD_NONINV_VMD "non-invasive blood pressure virtual medical device";
    70687 MDC_DEV_PRESS_BLD_NONINV_CHAN "non-invasive blood pressure channel";
    70771 MDC_DEV_ANALY_PERF_REL_CHAN "relative perfusion channel";
    147232 MDC_ECG_TIME_PD_QT_GL "QT interval, global";
    147236 MDC_ECG_TIME_PD_QTc "QT interval, corrected";
    147842 MDC_ECG_CARD_BEAT_RATE "heart rate from ECG";
    149546 MDC_PULS_RATE_NON_INV "pulse rate, non-invasive";
    150020 MDC_PRESS_BLD_NONINV "non-invasive blood pressure";
    150021 MDC_PRESS_BLD_NONINV_SYS "non-invasive blood pressure, systolic";
    150022 MDC_PRESS_BLD_NONINV_DIA "non-invasive blood pressure, diastolic";
    150023 MDC_PRESS_BLD_NONINV_MEAN "non-invasive blood pressure, mean";
    150448 MDC_PULS_OXIM_PERF_REL "relative perfusion";
    150456 MDC_PULS_OXIM_SAT_O2 "oxygen saturation (SpO2)";
    151562 MDC_RESP_RATE "respiration rate";
    157760 MDC_CONC_DRUG "drug concentration";
    157784 MDC_FLOW_FLUID_PUMP "infusion rate";
    157872 MDC_VOL_FLUID_TBI_REMAIN "volume to be infused, remaining";
    157884 MDC_VOL_FLUID_TBI "volume to be infused";
    157916 MDC_TIME_PD_REMAIN "time remaining";
    157924 MDC_RATE_DOSE "dose rate";
    157993 MDC_VOL_FLUID_DELIV_TOTAL "volume delivered, total";
    158005 MDC_DEV_PUMP_CURRENT_DELIVERY_STATUS "current delivery status";
    158008 MDC_DEV_PUMP_PROGRAM_DELIVERY_MODE "programmed delivery mode";
    158012 MDC_DEV_PUMP_SOURCE_CHANNEL_LABEL "source channel label";
    158014 MDC_FLOW_FLUID_PUMP_CURRENT "current infusion rate";
    158016 MDC_DEV_PUMP_ACTIVE_SOURCES "active sources";
    184327 MDC_ECG_STAT_RHY "ECG rhythm";
    184514 MDC_DRUG_NAME_LABEL "drug name";
    184516 MDC_PUMP_DRUG_LIBRARY_CARE_AREA "drug library care area";
    184517 MDC_PUMP_DRUG_LIBRARY_VERSION "drug library version";
    184519 MDC_PUMP_INFUSING_STATUS "infusing status";
    196616 MDC_EVT_ALARM "alarm";
    196670 MDC_EVT_LO "low limit crossed";
    196940 MDC_EVT_FLUID_LINE_OCCL "fluid line occlusion";
    197288 MDC_EVT_PUMP_DELIV_START "delivery started";
    262656 MDC_DIM_DIMLESS "dimensionless";
    262688 MDC_DIM_PERCENT "%";
    263762 MDC_DIM_MILLI_L "mL";
    263875 MDC_DIM_KILO_G "kg";
    263890 MDC_DIM_MILLI_G "mg";
    264306 MDC_DIM_MILLI_G_PER_ML "mg/mL";
    264338 MDC_DIM_MILLI_SEC "ms";
    264352 MDC_DIM_MIN "min";
    264864 MDC_DIM_BEAT_PER_MIN "beats/min";
    264928 MDC_DIM_RESP_PER_MIN "breaths/min";
    265266 MDC_DIM_MILLI_L_PER_HR "mL/h";
    265619 MDC_DIM_MICRO_G_PER_KG_PER_MIN "ug/kg/min";
    266016 MDC_DIM_MMHG "mmHg";
    528391 MDC_DEV_SPEC_PROFILE_BP "blood pressure monitor profile";
}

/// The term with this context-free code.
pub fn by_code(code: u32) -> Option<&'static Term> {
    TERMS
        .binary_search_by_key(&code, |t| t.code)
        .ok()
        .map(|i| &TERMS[i])
}

/// The term with this reference id.
pub fn by_reference_id(id: &str) -> Option<&'static Term> {
    TERMS.iter().find(|t| t.reference_id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_looked_up_both_ways() {
        assert!(TERMS.windows(2).all(|w| w[0].code < w[1].code));
        for t in TERMS {
            assert_eq!(by_code(t.code), Some(t));
            assert_eq!(by_reference_id(t.reference_id), Some(t));
        }
        assert_eq!(
            by_code(69986).map(|t| t.partition()),
            Some(Partition::Object)
        );
        assert_eq!(
            by_code(196940).map(|t| t.partition()),
            Some(Partition::Event)
        );
        assert_eq!(
            by_code(265266).map(|t| t.partition()),
            Some(Partition::Dimension)
        );
        assert_eq!(by_code(1), None);
    }
}
