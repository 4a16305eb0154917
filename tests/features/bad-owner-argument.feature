Feature: An authoring mistake
  @static
  Scenario: An owner without a group
    Then the file "/etc/corosync/corosync.conf" is owned by "root" with mode at most "0640"
