int csgio_placeholder(void);
