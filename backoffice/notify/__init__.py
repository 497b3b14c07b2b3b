"""Notifications: alerts reach people by mail (one each, or a daily digest) and agencies' tools by a
signed webhook. Alerts write their events into an outbox in their own transaction (``outbox``); the
dispatcher (``dispatch``) sends them later, from the scheduler, never from inside an export."""
