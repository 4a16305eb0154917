Feature: pcsd's key
  @static @live
  Scenario: Every node holds the same pcsd key
    Then the files "/var/lib/pcsd/pcsd.key" are identical on every node
