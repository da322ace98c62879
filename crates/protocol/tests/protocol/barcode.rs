//! Barcode scanner lines and receipt codes.

use proptest::prelude::*;
use protocol::barcode::*;

fn lines(config: LineConfig, bytes: &[u8]) -> Vec<Result<String, LineError>> {
    let mut d = LineDecoder::new(config);
    d.push(bytes);
    std::iter::from_fn(|| d.next_line()).collect()
}

fn with(terminator: Terminator) -> LineConfig {
    LineConfig {
        terminator,
        ..LineConfig::default()
    }
}

#[test]
fn each_terminator_splits_lines() {
    for (t, bytes) in [
        (Terminator::Cr, &b"AB12-cd34\rXY\r"[..]),
        (Terminator::Lf, b"AB12-cd34\nXY\n"),
        (Terminator::CrLf, b"AB12-cd34\r\nXY\r\n"),
        (Terminator::Tab, b"AB12-cd34\tXY\t"),
    ] {
        assert_eq!(
            lines(with(t), bytes),
            vec![Ok("AB12-cd34".into()), Ok("XY".into())],
            "{t:?}"
        );
        assert_eq!(
            encode_line("AB12-cd34", t).unwrap(),
            bytes[..9 + t.bytes().len()].to_vec()
        );
    }
}

#[test]
fn incomplete_line_waits_and_empty_lines_are_skipped() {
    let mut d = LineDecoder::new(with(Terminator::CrLf));
    d.push(b"\r\nABC\r");
    assert_eq!(d.next_line(), None);
    d.push(b"\n");
    assert_eq!(d.next_line(), Some(Ok("ABC".into())));
}

#[test]
fn overlong_and_unprintable_lines_are_errors_then_recovery() {
    let config = LineConfig {
        terminator: Terminator::Cr,
        max_len: 8,
    };
    let mut d = LineDecoder::new(config);
    for _ in 0..100 {
        d.push(b"0123456789");
    }
    assert_eq!(d.next_line(), None);
    d.push(b"\rGOOD\r");
    assert_eq!(
        d.next_line(),
        Some(Err(LineError::TooLong { len: 1000, max: 8 }))
    );
    assert_eq!(d.next_line(), Some(Ok("GOOD".into())));
    assert_eq!(
        lines(with(Terminator::Cr), b"AB\nC\r"),
        vec![Err(LineError::NotPrintable {
            byte: b'\n',
            position: 2
        })],
        "LF from a scanner set to CRLF, host set to CR"
    );
    assert_eq!(
        encode_line("é", Terminator::Cr),
        Err(LineError::NotPrintable {
            byte: 0xC3,
            position: 0
        })
    );
}

#[test]
fn receipt_codes() {
    assert_eq!(
        ReceiptCode::parse("AB12-cd34").unwrap().as_str(),
        "AB12-cd34"
    );
    assert!(ReceiptCode::parse(&"a".repeat(32)).is_ok());
    assert_eq!(
        ReceiptCode::parse("ABC1234"),
        Err(ReceiptCodeError::TooShort(7))
    );
    assert_eq!(ReceiptCode::parse(""), Err(ReceiptCodeError::TooShort(0)));
    assert_eq!(
        ReceiptCode::parse(&"a".repeat(33)),
        Err(ReceiptCodeError::TooLong(33))
    );
    assert_eq!(
        ReceiptCode::parse("AB12_cd34"),
        Err(ReceiptCodeError::InvalidChar {
            ch: '_',
            position: 4
        })
    );
    assert_eq!(
        ReceiptCode::parse("回执12345678"),
        Err(ReceiptCodeError::InvalidChar {
            ch: '回',
            position: 0
        })
    );
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), max in 0usize..20) {
        for t in [Terminator::Cr, Terminator::Lf, Terminator::CrLf, Terminator::Tab] {
            let mut d = LineDecoder::new(LineConfig { terminator: t, max_len: max });
            for chunk in bytes.chunks(3) {
                d.push(chunk);
                while d.next_line().is_some() {}
            }
        }
    }

    #[test]
    fn codes_round_trip_in_any_chunking(codes in proptest::collection::vec("[A-Za-z0-9-]{8,32}", 1..10), cut in 1usize..20) {
        let bytes: Vec<u8> = codes.iter().flat_map(|c| encode_line(c, Terminator::CrLf).unwrap()).collect();
        let mut d = LineDecoder::new(with(Terminator::CrLf));
        let mut got = Vec::new();
        for chunk in bytes.chunks(cut) {
            d.push(chunk);
            while let Some(l) = d.next_line() { got.push(ReceiptCode::parse(&l.unwrap()).unwrap().as_str().to_owned()); }
        }
        prop_assert_eq!(got, codes);
    }
}
