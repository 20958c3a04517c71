/// The version of failover-agent and failoverctl (also the Debian package's, read by scripts/package-deb.sh).
public let productVersion = "0.4.0"
