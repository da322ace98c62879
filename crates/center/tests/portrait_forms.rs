//! The portrait collection form (人像采集表) through the session (issue 14, item 1): printed only
//! for a number whose masked identity this session looked up, and written to the audit chain.

use center::client::ClientError;
use center::paper::{IdentityRequest, PortraitRequest};
use domain::CitizenId;
use popsys::seed::demo;

use crate::support::{KIOSK, TODAY};
use crate::world::{new_session, world};

fn portrait(id: &str) -> PortraitRequest {
    PortraitRequest {
        id: id.into(),
        business: Some("first_time".into()),
    }
}

fn identity(id: &str) -> IdentityRequest {
    IdentityRequest { id: id.into() }
}

fn refused_on(err: ClientError) -> (u16, Option<String>) {
    match err {
        ClientError::Refused { status, field, .. } => (status, field),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// Reported: `POST /v1/portrait-form` printed anyone's name, sex and birth date for any number
// typed, with no confirmation at the kiosk and no audit.
#[tokio::test]
async fn a_portrait_form_needs_the_identity_looked_up_in_the_session_and_is_audited() {
    let world = world().await;
    let sid = new_session();
    let masked = CitizenId::parse(demo::LONG_TERM, TODAY).unwrap().masked();

    // Without the lookup: 409 identity, nothing printed, nothing audited.
    let err = world
        .client
        .session_portrait_form(&sid, &portrait(demo::LONG_TERM))
        .await
        .unwrap_err();
    assert_eq!(refused_on(err), (409, Some("identity".into())));
    // The old session-less route is gone.
    let status = world
        .http
        .post(format!("http://{}/v1/portrait-form", world.center))
        .header("X-Kiosk-Id", KIOSK)
        .header(
            "Authorization",
            format!("Bearer {}", crate::support::SECRET),
        )
        .json(&serde_json::json!({"id": demo::LONG_TERM}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404);

    // The lookup answers the masked identity only.
    let answer = world
        .client
        .identity(&sid, &identity(demo::LONG_TERM))
        .await
        .unwrap();
    let found = answer.identity.expect("the demo citizen has a record");
    assert_eq!(found.id_masked, masked);
    assert!(found.name_masked.starts_with('*'), "{}", found.name_masked);

    // Another number's lookup does not open this one; another session's does not either.
    let other = new_session();
    world
        .client
        .identity(&other, &identity(demo::RENEWAL_IN_WINDOW))
        .await
        .unwrap();
    let err = world
        .client
        .session_portrait_form(&other, &portrait(demo::LONG_TERM))
        .await
        .unwrap_err();
    assert_eq!(refused_on(err), (409, Some("identity".into())));

    let printed = world
        .store()
        .latest_audit_entries(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| entry.action == "print_portrait_form")
        .count();
    assert_eq!(printed, 0, "nothing audited before a form is printed");

    match crate::world::renderer() {
        Some(_) => {
            let pdf = world
                .client
                .session_portrait_form(&sid, &portrait(demo::LONG_TERM))
                .await
                .unwrap();
            assert!(pdf.starts_with(b"%PDF"));
            let entries = world.store().latest_audit_entries(100).await.unwrap();
            let printed: Vec<_> = entries
                .iter()
                .filter(|entry| entry.action == "print_portrait_form")
                .collect();
            assert_eq!(printed.len(), 1, "{entries:?}");
            assert_eq!(printed[0].subject, masked);
            assert_eq!(printed[0].actor, KIOSK);
            assert_eq!(printed[0].detail, sid.as_str());
            assert!(matches!(
                world.store().verify_audit().await.unwrap(),
                store::audit::Verification::Intact { .. }
            ));
        }
        None => {
            let err = world
                .client
                .session_portrait_form(&sid, &portrait(demo::LONG_TERM))
                .await
                .unwrap_err();
            assert!(err.is_retryable());
        }
    }
    world.finish().await;
}

#[tokio::test]
async fn a_number_without_a_record_has_no_identity_and_no_form() {
    let world = world().await;
    let sid = new_session();
    // Valid (北京市朝阳区) but not in the demo register.
    let unknown = "11010519491231002X";
    let answer = world
        .client
        .identity(&sid, &identity(unknown))
        .await
        .unwrap();
    assert_eq!(answer.identity, None);
    let err = world
        .client
        .session_portrait_form(&sid, &portrait(unknown))
        .await
        .unwrap_err();
    assert_eq!(refused_on(err).0, 422);
    world.finish().await;
}
