"""Market data: providers (Yahoo, CoinGecko, Alpha Vantage, a simulated market) behind
one cache whose upstream calls depend on the distinct symbols and the TTL only."""
