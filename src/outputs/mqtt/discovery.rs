//! Home Assistant MQTT device discovery: one device, and per camera an event entity, an
//! activity sensor, an occupancy sensor, a people count and two diagnostic sensors.

use serde_json::json;

use super::topics::Topics;

/// The Home Assistant discovery document: one device with, per camera, an event entity for
/// activity segments, a sensor for the current activity, an occupancy binary sensor, and
/// diagnostic sensors for frame rate and inference time.
pub fn discovery_payload(
    topics: &Topics,
    cameras: &[String],
    classes: &[String],
    zones: &[(String, String)],
) -> serde_json::Value {
    let dev = &topics.device_id;
    let mut cmps = serde_json::Map::new();
    for cam in cameras {
        let uid = |what: &str| format!("activityd_{dev}_{cam}_{what}");
        cmps.insert(
            uid("event"),
            json!({
                "p": "event",
                "name": format!("{cam} activity event"),
                "unique_id": uid("event"),
                "state_topic": topics.event(cam),
                "event_types": classes,
                "value_template": "{% if value_json.phase == 'start' %}{\"event_type\": \"{{ value_json.activity }}\", \"confidence\": {{ value_json.confidence }}}{% else %}{}{% endif %}",
                "icon": "mdi:run",
            }),
        );
        cmps.insert(
            uid("activity"),
            json!({
                "p": "sensor",
                "name": format!("{cam} activity"),
                "unique_id": uid("activity"),
                "state_topic": topics.state(cam),
                "value_template": "{{ value_json.activity }}",
                "json_attributes_topic": topics.state(cam),
                "device_class": "enum",
                "options": classes.iter().cloned().chain(["uncertain".to_string(), "no_person".to_string()]).collect::<Vec<_>>(),
                "icon": "mdi:human",
            }),
        );
        cmps.insert(
            uid("person"),
            json!({
                "p": "binary_sensor",
                "name": format!("{cam} person"),
                "unique_id": uid("person"),
                "state_topic": topics.state(cam),
                "value_template": "{{ 'ON' if value_json.person_present else 'OFF' }}",
                "device_class": "occupancy",
            }),
        );
        cmps.insert(
            uid("people"),
            json!({
                "p": "sensor",
                "name": format!("{cam} people"),
                "unique_id": uid("people"),
                "state_topic": topics.state(cam),
                "value_template": "{{ value_json.people_count | default(0) }}",
                "state_class": "measurement",
                "icon": "mdi:account-group",
            }),
        );
        // Diagnostic sensors read from the stats message.
        for (what, name, stat, unit, class) in [
            ("fps", "analysed frame rate", "process_fps", "fps", None),
            (
                "inference",
                "inference time",
                "inference_ms",
                "ms",
                Some("duration"),
            ),
        ] {
            let mut c = json!({
                "p": "sensor",
                "name": format!("{cam} {name}"),
                "unique_id": uid(what),
                "state_topic": topics.stats(),
                "value_template": format!("{{{{ value_json.cameras['{cam}'].{stat} }}}}"),
                "unit_of_measurement": unit,
                "state_class": "measurement",
                "entity_category": "diagnostic",
            });
            if let Some(class) = class {
                c["device_class"] = json!(class);
            }
            cmps.insert(uid(what), c);
        }
    }
    // Per zone: occupied or not, and how many people are in it.
    for (cam, zone) in zones {
        let uid = |what: &str| format!("activityd_{dev}_{cam}_zone_{zone}_{what}");
        cmps.insert(
            uid("occupied"),
            json!({
                "p": "binary_sensor",
                "name": format!("{cam} {zone} occupied"),
                "unique_id": uid("occupied"),
                "state_topic": topics.zone(cam, zone),
                "value_template": "{{ 'ON' if value_json.occupied else 'OFF' }}",
                "device_class": "occupancy",
            }),
        );
        cmps.insert(
            uid("count"),
            json!({
                "p": "sensor",
                "name": format!("{cam} {zone} people"),
                "unique_id": uid("count"),
                "state_topic": topics.zone(cam, zone),
                "value_template": "{{ value_json.count }}",
                "state_class": "measurement",
                "icon": "mdi:account-group",
            }),
        );
    }
    json!({
        "dev": {
            "ids": [format!("activityd_{dev}")],
            "name": format!("activityd {dev}"),
            "mf": "activityd",
            "mdl": "activityd",
            "sw": env!("CARGO_PKG_VERSION"),
        },
        "o": {"name": "activityd", "sw": env!("CARGO_PKG_VERSION")},
        "avty_t": topics.availability(),
        "pl_avail": "online",
        "pl_not_avail": "offline",
        "qos": 1,
        "cmps": cmps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MqttConfig;

    #[test]
    fn discovery_has_the_entities_home_assistant_needs() {
        let cfg = MqttConfig::default();
        let topics = Topics::new(&cfg, "hall-1");
        assert_eq!(
            topics.discovery().unwrap(),
            "homeassistant/device/hall-1/config"
        );
        let classes = vec!["walk_toward".to_string(), "turn".to_string()];
        let d = discovery_payload(&topics, &["cam0".into()], &classes, &[]);
        assert_eq!(d["avty_t"], "activityd/hall-1/availability");
        assert_eq!(d["dev"]["ids"][0], "activityd_hall-1");
        assert!(
            d["o"]["name"].is_string(),
            "device discovery needs an origin"
        );
        let cmps = d["cmps"].as_object().unwrap();
        let by_platform = |p: &str| cmps.values().filter(|c| c["p"] == p).count();
        assert_eq!(by_platform("event"), 1);
        assert_eq!(by_platform("binary_sensor"), 1);
        assert_eq!(by_platform("sensor"), 4);
        let ev = cmps.values().find(|c| c["p"] == "event").unwrap();
        assert_eq!(ev["event_types"], serde_json::json!(classes));
        assert_eq!(ev["state_topic"], "activityd/hall-1/cam0/event");
        for c in cmps.values() {
            assert!(
                c["unique_id"]
                    .as_str()
                    .unwrap()
                    .starts_with("activityd_hall-1_cam0_")
            );
        }
        let mut off = MqttConfig::default();
        off.discovery_prefix.clear();
        assert!(Topics::new(&off, "x").discovery().is_none());
    }
}
