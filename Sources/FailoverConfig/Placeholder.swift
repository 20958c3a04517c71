enum _PlaceholderFailoverConfig {}
