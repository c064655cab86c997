//! Per-record codes in the usage push response's `extra_info` (license-kit §6.4).

use crate::wire::open_enum;

open_enum! {
    /// Why the marketplace rejected one usage record. `008` is absent from every copy of the table.
    pub enum UsageRecordCode {
        /// `001` the instance does not exist.
        InstanceNotFound = "001",
        /// `002` a time field is not `yyyyMMdd'T'HHmmss'Z'`.
        InvalidTimeFormat = "002",
        /// `003` usage value not positive or more than 4 decimals.
        InvalidUsageValue = "003",
        /// `004` `metering_sn` missing.
        MissingMeteringSn = "004",
        /// `005` `metering_sn` already used.
        DuplicateMeteringSn = "005",
        /// `006` the product has been delisted.
        ProductDelisted = "006",
        /// `007` the record's time is expired (too old).
        ExpiredTime = "007",
        /// `009` the instance does not belong to this merchant.
        InstanceMerchantMismatch = "009",
        /// `010` duplicate record.
        DuplicateRecord = "010",
        /// `011` invalid time range.
        InvalidTimeRange = "011",
        /// `012` the instance is not on-demand.
        NotOnDemand = "012",
        /// `013` the instance's status does not allow usage.
        InvalidInstanceStatus = "013",
    }
}

impl UsageRecordCode {
    /// Whether resending the same record can ever succeed; duplicates mean it already landed.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::DuplicateMeteringSn | Self::DuplicateRecord)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse() {
        assert_eq!(
            UsageRecordCode::parse("005"),
            UsageRecordCode::DuplicateMeteringSn
        );
        assert!(UsageRecordCode::parse("010").is_duplicate());
        assert_eq!(
            UsageRecordCode::parse("008"),
            UsageRecordCode::Other("008".into())
        );
        assert_eq!(UsageRecordCode::KNOWN.len(), 12);
        let from_number: UsageRecordCode = serde_json::from_str(r#""013""#).unwrap();
        assert_eq!(from_number, UsageRecordCode::InvalidInstanceStatus);
    }
}
