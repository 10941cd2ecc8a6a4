import { config } from '../ui.js'; void config;
