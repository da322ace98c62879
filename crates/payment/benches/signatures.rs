//! WeChat Pay v3 signatures per second: sign a request (RSA-2048 private key) and verify it
//! (public key), against named baselines in the same run: SHA-256 of the same message alone
//! (the hashing inside both), and verification alone. One key pair, generated once.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use payment::sign::{request_message, response_message, SignKey, VerifyKey};
use payment::KeyPair;
use sha2::{Digest, Sha256};

fn signatures(c: &mut Criterion) {
    let keys = KeyPair::generate().expect("keys");
    let signer = SignKey::new(keys.merchant.merchant_key.clone());
    let verifier = VerifyKey::new(keys.platform.merchant_public_key.clone());
    let body = br#"{"appid":"wx8c31741b0b907d9b","mchid":"1978248055","description":"\u5c45\u6c11\u8eab\u4efd\u8bc1\u5de5\u672c\u8d39","out_trade_no":"IDK32010020261125000123A1","notify_url":"http://127.0.0.1:7400/pay/notify","amount":{"total":2000,"currency":"CNY"},"time_expire":"2026-11-25T10:40:00+08:00"}"#;
    let message = request_message(
        "POST",
        "/v3/pay/transactions/native",
        1_764_037_200,
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        body,
    );
    let signature = signer.sign(&message);

    let mut group = c.benchmark_group("wechat_signature");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign_and_verify", |b| {
        b.iter(|| {
            let signature = signer.sign(&message);
            verifier.verify(&message, &signature).expect("verifies");
        })
    });
    group.bench_function("sign", |b| b.iter(|| signer.sign(&message)));
    group.bench_function("baseline_verify_only", |b| {
        b.iter(|| verifier.verify(&message, &signature).expect("verifies"))
    });
    group.bench_function("baseline_sha256_only", |b| {
        b.iter(|| Sha256::digest(&message))
    });
    let empty = response_message("1764037200", "NONCE", b"");
    group.bench_function("sign_204_empty_body", |b| b.iter(|| signer.sign(&empty)));
    group.finish();
}

criterion_group!(benches, signatures);
criterion_main!(benches);
