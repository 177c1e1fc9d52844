"""Provider adapters: each turns one upstream API into :class:`~quantdesk.market.base.Provider`."""
