//! The messages MQTT publishes, and the bounded in-memory queue of those that must not be
//! lost (events, test results): the oldest is dropped and counted when it is full.

use std::collections::VecDeque;

use rumqttc::QoS;

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: String,
    pub qos: QoS,
    pub retain: bool,
}

/// The bounded queue of messages that must not be lost.
#[derive(Debug)]
pub struct OutQueue {
    items: VecDeque<Message>,
    cap: usize,
    pub dropped: u64,
}

impl OutQueue {
    pub fn new(cap: usize) -> OutQueue {
        OutQueue {
            items: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Adds `m`, dropping the oldest when full (unless it is being sent: `inflight`).
    pub fn push(&mut self, m: Message, inflight: bool) -> bool {
        let mut dropped = false;
        if self.items.len() >= self.cap {
            // The head may be on the wire; drop the next oldest instead.
            let at = usize::from(inflight && self.items.len() > 1);
            self.items.remove(at);
            self.dropped += 1;
            dropped = true;
        }
        self.items.push_back(m);
        dropped
    }

    pub fn front(&self) -> Option<&Message> {
        self.items.front()
    }

    pub fn pop(&mut self) -> Option<Message> {
        self.items.pop_front()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: usize) -> Message {
        Message {
            topic: "t".into(),
            payload: i.to_string(),
            qos: QoS::AtLeastOnce,
            retain: false,
        }
    }

    #[test]
    fn queue_drops_oldest_but_not_the_one_in_flight() {
        let mut q = OutQueue::new(3);
        for i in 0..3 {
            assert!(!q.push(msg(i), false));
        }
        assert!(q.push(msg(3), false));
        assert_eq!(q.front().unwrap().payload, "1");
        // Head in flight: the next oldest goes.
        assert!(q.push(msg(4), true));
        let rest: Vec<String> = std::iter::from_fn(|| q.pop().map(|m| m.payload)).collect();
        assert_eq!(rest, ["1", "3", "4"]);
        assert_eq!(q.dropped, 2);
    }
}
