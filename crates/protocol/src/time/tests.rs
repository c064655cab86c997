use chrono::{TimeZone, Utc};

use super::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().unwrap()
}

#[test]
fn compact_accepts_14_and_17_digits() {
    assert_eq!(
        parse_compact("20221224194509").unwrap(),
        utc(2022, 12, 24, 19, 45, 9)
    );
    let with_ms = parse_compact("20221124023618256").unwrap();
    assert_eq!(with_ms.timestamp_subsec_millis(), 256);
    assert_eq!(format_compact_millis(with_ms), "20221124023618256");
    assert_eq!(format_compact(with_ms), "20221124023618");
}

#[test]
fn compact_rejects_bad_input() {
    for bad in [
        "",
        "2022122419450",
        "202212241945091",
        "20221324194509",
        "20221224246009",
        "2022122419450x",
        "20221224194560",
    ] {
        assert!(parse_compact(bad).is_err(), "{bad}");
    }
}

#[test]
fn basic_format_round_trips() {
    let at = parse_basic("20220809T080000Z").unwrap();
    assert_eq!(at, utc(2022, 8, 9, 8, 0, 0));
    assert_eq!(format_basic(at), "20220809T080000Z");
    assert_eq!(
        parse_sdk_date("20240317T144237Z").unwrap(),
        utc(2024, 3, 17, 14, 42, 37)
    );
    assert_eq!(
        format_sdk_date(utc(2016, 6, 29, 10, 14, 59)),
        "20160629T101459Z"
    );
    for bad in ["20220809080000Z", "20220809T080000", "2022089T080000Z"] {
        assert!(parse_basic(bad).is_err(), "{bad}");
    }
}

#[test]
fn license_time_is_lenient() {
    let want = utc(2023, 10, 27, 10, 30, 15);
    for text in [
        "2023-10-27 10:30:15 z",
        "2023-10-27 10:30:15 Z",
        "2023-10-27 10:30:15",
        "2023-10-27T10:30:15Z",
        "2023-10-27 10:30:15 UTC",
        "2023-10-27 18:30:15 CST",
        "2023-10-27 18:30:15 +08:00",
        "2023-10-27 18:30:15+0800",
        "20231027103015",
    ] {
        assert_eq!(parse_license_time(text).unwrap(), want, "{text}");
    }
    assert_eq!(
        parse_license_time("2023-10-27 10:30:15.5 z")
            .unwrap()
            .timestamp_subsec_millis(),
        500
    );
    assert!(parse_license_time("27/10/2023 10:30:15").is_err());
    assert!(parse_license_time("2023-10-27 10:30:15 Mars").is_err());
    assert_eq!(format_license_time(want), "2023-10-27 10:30:15 z");
}

#[test]
fn kit_timestamp_is_china_time() {
    let at = parse_kit_timestamp("20220413093539534").unwrap();
    assert_eq!(format_compact_millis(at), "20220413013539534");
    assert_eq!(format_kit_timestamp(at), "20220413093539534");
}

#[test]
fn epoch_millis() {
    let at = parse_epoch_millis("1680508066618").unwrap();
    assert_eq!(to_epoch_millis(at), 1_680_508_066_618);
    assert_eq!(format_compact_millis(at), "20230403074746618");
    assert!(parse_epoch_millis("abc").is_err());
    assert_eq!(from_epoch_millis(0), Some(utc(1970, 1, 1, 0, 0, 0)));
}
