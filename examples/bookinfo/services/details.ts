// details: the book's details (bookinfo's Ruby service, in a few lines of Node).
import { startService } from './service.ts';

await startService('details', ({ app, instance }) => {
  app.get('/details/:id', (req, res) => {
    const id = Number(req.params['id']);
    if (!Number.isInteger(id)) {
      res.status(400).json({ error: 'please provide numeric product id' });
      return;
    }
    res.json({
      id,
      author: 'William Shakespeare',
      year: 1595,
      type: 'paperback',
      pages: 200,
      publisher: 'PublisherA',
      language: 'English',
      'ISBN-10': '1234567890',
      'ISBN-13': '123-1234567890',
      instance,
    });
  });
});
