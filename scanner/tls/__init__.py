"""The TLS toolkit: records and handshakes on the wire (`wire`), the cipher-suite table
(`suites`), certificates (`cert`) and the audit that drives them against one port (`audit`)."""
