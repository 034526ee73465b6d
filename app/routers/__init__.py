"""One router per resource: plan, scale, profiles, sweeps, recommendations, catalog, ops."""
