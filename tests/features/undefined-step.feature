Feature: A step nobody defined
  @static
  Scenario: Typo in a step
    Then corosync is very secure
