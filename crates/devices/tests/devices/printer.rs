//! The IPP printer driver against a real, private CUPS server with the cups-pdf queue.

use std::time::Duration;

use devices::printer::{IppPrinter, IppPrinterConfig, JobOutcome, Printer, PrinterError};
use devices::DeviceHealth;

use crate::cups::{pdf_text, tiny_pdf, PrivateCups};

fn printer(cups: &PrivateCups) -> IppPrinter {
    let mut config = IppPrinterConfig::new(cups.printer_uri());
    config.poll_interval = Duration::from_millis(50);
    config.job_timeout = Duration::from_secs(30);
    IppPrinter::new(config).expect("a valid URI")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_printed_through_cups_comes_out_with_its_text() {
    let Some(cups) = PrivateCups::start("devices::printer a_pdf_printed_through_cups") else {
        return;
    };
    let printer = printer(&cups);
    let status = printer.status().await.expect("the printer answers");
    assert_eq!(status.health, DeviceHealth::Ready, "{status:?}");
    assert!(status.accepting_jobs);

    let job = printer
        .print_pdf(tiny_pdf("idkiosk print test"), "receipt")
        .await
        .expect("the job runs");
    assert_eq!(job.state, JobOutcome::Completed, "{job:?}");
    assert!(job.job_id > 0);
    assert_eq!(printer.health(), DeviceHealth::Ready);

    let out = cups.output_of(job.job_id);
    let text = pdf_text(&out);
    assert!(text.contains("idkiosk print test"), "{out:?}: {text:?}");

    // A second job gets its own id and its own file.
    let second = printer
        .print_pdf(tiny_pdf("second page"), "receipt")
        .await
        .unwrap();
    assert!(second.job_id > job.job_id);
    assert!(pdf_text(&cups.output_of(second.job_id)).contains("second page"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_queue_is_reported_and_its_job_times_out() {
    let Some(cups) = PrivateCups::start("devices::printer a_stopped_queue") else {
        return;
    };
    let mut config = IppPrinterConfig::new(cups.printer_uri());
    config.poll_interval = Duration::from_millis(50);
    config.job_timeout = Duration::from_millis(600);
    let printer = IppPrinter::new(config).unwrap();

    cups.tool("cupsdisable", &["PDF"]);
    let status = printer.status().await.unwrap();
    assert_eq!(status.state, "stopped");
    assert!(status.reasons.iter().any(|r| r == "paused"), "{status:?}");
    assert!(matches!(status.health, DeviceHealth::Error { .. }));

    match printer.print_pdf(tiny_pdf("held"), "held").await {
        Err(PrinterError::JobTimeout { state, .. }) => assert_eq!(state, "pending"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(matches!(printer.health(), DeviceHealth::Error { .. }));

    cups.tool("cupsreject", &["PDF"]);
    cups.tool("cupsenable", &["PDF"]);
    let status = printer.status().await.unwrap();
    assert!(!status.accepting_jobs);
    match printer.print_pdf(tiny_pdf("refused"), "refused").await {
        Err(PrinterError::Refused(_)) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_printer_is_disconnected() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let printer = IppPrinter::new(IppPrinterConfig::new(format!(
        "ipp://127.0.0.1:{port}/printers/PDF"
    )))
    .unwrap();
    assert!(matches!(
        printer.print_pdf(tiny_pdf("x"), "x").await,
        Err(PrinterError::Unreachable(_))
    ));
    assert!(matches!(
        printer.health(),
        DeviceHealth::Disconnected { .. }
    ));
}
