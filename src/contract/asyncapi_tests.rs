//! The generated document: every type, both channels, the direction rule, no credentials.

use super::*;

fn document(server: &BrokerAddress) -> Value {
    asyncapi_document(server).expect("the embedded schemas convert")
}

#[test]
fn names_all_twelve_types_each_with_its_schema() {
    let doc = document(&BrokerAddress::placeholder());
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let messages = doc["components"]["messages"].as_object().expect("messages");
    assert_eq!(messages.len(), EventType::ALL.len());
    for t in EventType::ALL {
        let message = &messages[&message_id(t)];
        assert_eq!(message["name"], t.as_str());
        assert!(message["description"].is_string(), "{t} has no description");
        let payload = &message["payload"]["properties"];
        assert_eq!(payload["type"]["const"], t.as_str());
        assert_eq!(payload["dataschema"]["const"], t.dataschema());
        let data = payload["data"]["$ref"].as_str().expect("data $ref");
        let component = data.rsplit('/').next().unwrap_or_default();
        assert!(
            doc["components"]["schemas"][component].is_object(),
            "{data}"
        );
    }
}

#[test]
fn organisations_send_to_ingress_and_receive_hub_types_from_their_queue() {
    let doc = document(&BrokerAddress::placeholder());
    assert_eq!(doc["channels"]["ingress"]["address"], INGRESS_EXCHANGE);
    assert_eq!(
        doc["channels"]["organisationQueue"]["address"],
        "samverkan.org.{orgId}"
    );
    assert!(doc["channels"]["organisationQueue"]["parameters"]["orgId"].is_object());
    let operations = doc["operations"].as_object().expect("operations");
    assert_eq!(operations.len(), EventType::ALL.len());
    let op = |id: &str| &operations[id];
    assert_eq!(op("sendNeedSubmitted")["action"], "send");
    assert_eq!(
        op("sendNeedSubmitted")["channel"]["$ref"],
        "#/channels/ingress"
    );
    assert_eq!(
        op("sendNeedSubmitted")["bindings"]["amqp"]["cc"][0],
        "se.samverkan.need.submitted.v1"
    );
    for receive in [
        "receiveChallengePublished",
        "receiveCallPublished",
        "receiveNeedStatus",
        "receiveMessageRejected",
    ] {
        assert_eq!(op(receive)["action"], "receive", "{receive}");
        assert_eq!(
            op(receive)["channel"]["$ref"],
            "#/channels/organisationQueue"
        );
    }
    for t in EventType::ALL {
        let channel = if sender_kind(t).is_some() {
            INGRESS
        } else {
            ORG_QUEUE
        };
        assert!(
            doc["channels"][channel]["messages"][message_id(t)].is_object(),
            "{t} not on {channel}"
        );
    }
}

#[test]
fn every_reference_stays_inside_the_document() {
    fn check(value: &Value, root: &Value) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| check(v, root)),
            Value::Object(object) => {
                if let Some(Value::String(r)) = object.get("$ref") {
                    let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r}"));
                    assert!(root.pointer(pointer).is_some(), "dangling {r}");
                }
                object.values().for_each(|v| check(v, root));
            }
            _ => {}
        }
    }
    let doc = document(&BrokerAddress::placeholder());
    check(&doc, &doc);
}

#[test]
fn the_server_never_carries_credentials() {
    let url = "amqps://hub-user:Sup3r%2Fs3cret@mq.samverkan.example:5671/prod";
    let server = BrokerAddress::from_amqp_url(url).expect("an AMQP URL");
    let text = document(&server).to_string();
    for secret in ["hub-user", "Sup3r", "s3cret", "prod\""] {
        assert!(!text.contains(secret), "{secret} in the document");
    }
    let doc = document(&server);
    assert_eq!(
        doc["servers"]["production"]["host"],
        "mq.samverkan.example:5671"
    );
    assert_eq!(doc["servers"]["production"]["protocol"], "amqps");
    let placeholder = document(&BrokerAddress::placeholder());
    assert_eq!(
        placeholder["servers"]["production"]["host"],
        "rabbitmq.example:5672"
    );
}

#[test]
fn message_ids_are_camel_case() {
    assert_eq!(message_id(EventType::NeedSubmitted), "needSubmitted");
    assert_eq!(
        message_id(EventType::ChallengeWithdrawn),
        "challengeWithdrawn"
    );
    assert_eq!(short_name(EventType::MessageRejected), "message.rejected");
}
