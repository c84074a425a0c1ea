/** MQTT ingestion for drones in distributed mode: nats-server's MQTT listener, a JetStream inbox, the Ingestor. */
export { MqttBridge, MQTT_INBOX_STREAM, MQTT_INBOX_SUBJECT, droneIdMismatch, droneOfSubject, messageHash, type MqttAck, type MqttBridgeOptions, type MqttBridgeStats } from './bridge.ts';
