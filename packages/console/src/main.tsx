/** The console's entry: mounts the app into #app (index.html) with its one style sheet. */
import { render } from 'preact';
import './styles.css';
import './theme.js';
import { App } from './app.js';

render(<App />, document.getElementById('app')!);
