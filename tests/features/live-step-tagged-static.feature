Feature: An authoring mistake
  @static
  Scenario: A live-only step in a static scenario
    Then knet's encrypted packet counters grow on every node within 1 seconds
