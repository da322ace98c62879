//! barcode tests
