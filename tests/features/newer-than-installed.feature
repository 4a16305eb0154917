@patching
Feature: A patch table the installed stack cannot meet
  Proves the version check can fail: nothing installed is this new.

  @live @high
  Scenario: Pacemaker from the future is required
    Then every node has at least these package versions:
      | package   | version | reason            |
      | pacemaker | 99.0    | a fix from later  |
