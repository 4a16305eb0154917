@access-control
Feature: Role-based access control
  Practice 2 of the seed: least privilege for everyone who touches the cluster.

  @static @live @critical @AC-3 @AC-6 @CIS-6.8
  Scenario: Pacemaker enforces its access control lists
    Without enable-acl every member of haclient has full write access to the CIB.
    Remediation: `crm_attribute --type crm_config --name enable-acl --update true`.
    Then the cluster option "enable-acl" is "true"

  @live @high @AC-3 @AC-6 @CIS-6.8
  Scenario: A read-only role can read the configuration but not change it
    Auditors and monitoring need to read the CIB; a read-only ACL role lets them without the power to change it.
    Remediation: give auditors an acl_target with a read-only acl_role, and set enable-acl=true.
    Then every read-only ACL user of the CIB can read it but not change it

  @live @high @AC-3 @AC-6 @CIS-3.3
  Scenario: Users outside haclient cannot reach the cluster
    Every account that can talk to the CIB can read its secrets or change it; only haclient members should.
    Remediation: keep haclient membership to the accounts that administer the cluster.
    Then an account outside haclient cannot read the CIB

  @live @high @AC-6 @CIS-5.4
  Scenario: Operators may run only the cluster commands they need through sudo
    Full root for routine cluster work turns one stolen operator account into a stolen cluster.
    Remediation: list exact commands in /etc/sudoers.d for the operator; never ALL.
    Then sudo lets each user the candidate's sudoers rules name run only these commands:
      | command                   |
      | /usr/sbin/crm_mon         |
      | /usr/sbin/crm_resource    |
      | /usr/sbin/crm_node        |
