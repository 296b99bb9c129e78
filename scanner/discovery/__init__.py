"""Discovery: which addresses to scan (`targets`), which ports (`ports`), and what answers
there — a TCP connect scan (`tcp`), a raw SYN scan (`syn`) and UDP requests per protocol
(`udp`). Nothing here knows what a service is; fingerprinting does."""
