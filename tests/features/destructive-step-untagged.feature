Feature: An authoring mistake
  @live
  Scenario: A step that breaks the cluster, in a scenario not tagged @destructive
    When the node running "auto" is killed
    Then "auto" runs on another node within 30 seconds
