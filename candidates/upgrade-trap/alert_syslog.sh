#!/bin/sh
# Pacemaker alert agent: one syslog line per event, which rsyslog forwards to
# the central log server.
exec logger -p daemon.notice -t pcmk-alert -- \
  "kind=${CRM_alert_kind:-} node=${CRM_alert_node:-} resource=${CRM_alert_rsc:-} task=${CRM_alert_task:-} rc=${CRM_alert_rc:-} desc=${CRM_alert_desc:-}"
