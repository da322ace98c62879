//! fingerprint tests
