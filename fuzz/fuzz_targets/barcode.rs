//! The serial barcode scanner (DOMAIN.md 9.3): the `LineDecoder` under every terminator and
//! line limit, fed arbitrary bytes in arbitrary chunks; the receipt code check on each line.
//! Checks: nothing panics, memory stays bounded on a line that never ends, every code it
//! returns is printable ASCII within the limit and encodes back to a line, and it resynchronises
//! on the next line after any garbage.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use protocol::barcode::*;

#[derive(Arbitrary, Debug)]
struct Input {
    terminator: u8,
    max_len: u8,
    chunks: Vec<Vec<u8>>,
}

const TERMINATORS: [Terminator; 4] = [
    Terminator::Cr,
    Terminator::Lf,
    Terminator::CrLf,
    Terminator::Tab,
];

fuzz_target!(|input: Input| {
    let terminator = TERMINATORS[usize::from(input.terminator) % TERMINATORS.len()];
    let max_len = usize::from(input.max_len);
    let mut decoder = LineDecoder::new(LineConfig {
        terminator,
        max_len,
    });
    let check = |decoder: &mut LineDecoder| {
        while let Some(line) = decoder.next_line() {
            if let Ok(code) = line {
                assert!(!code.is_empty() && code.len() <= max_len);
                assert!(code.bytes().all(|b| (0x20..=0x7E).contains(&b)));
                let _ = ReceiptCode::parse(&code);
                let bytes = encode_line(&code, terminator).expect("a decoded code encodes");
                let mut again = LineDecoder::new(LineConfig {
                    terminator,
                    max_len,
                });
                again.push(&bytes);
                assert_eq!(again.next_line(), Some(Ok(code)));
            }
        }
    };
    for chunk in &input.chunks {
        decoder.push(chunk);
        check(&mut decoder);
    }

    // Resynchronisation: after any garbage, a terminator, then a code and its terminator.
    if max_len == 0 {
        return;
    }
    let code = "R".repeat(max_len.min(16));
    let mut line = terminator.bytes().to_vec();
    line.extend(encode_line(&code, terminator).unwrap());
    decoder.push(&line);
    let mut last = None;
    while let Some(item) = decoder.next_line() {
        last = Some(item);
    }
    assert_eq!(last, Some(Ok(code)));
});
