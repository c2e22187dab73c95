// The page's routes, behind the login.
import { Route, Switch } from 'wouter';
import { AdminPage } from './admin/AdminPage';
import { LoginPage } from './auth/LoginPage';
import { useSession } from './auth/session';
import { Layout } from './components/Layout';
import { HistoryPage } from './history/HistoryPage';
import { JobPage } from './history/JobPage';
import { DatasetPage } from './datasets/DatasetPage';
import { DatasetsPage } from './datasets/DatasetsPage';
import { ImportsPage } from './imports/ImportsPage';
import { BackgroundJobsProvider } from './live/BackgroundJobs';

export function App() {
  const session = useSession();
  if (session.isPending) return null;
  if (session.isError) {
    return (
      <main className="login">
        <p role="alert" className="error">The service cannot be reached. Reload the page to try again.</p>
      </main>
    );
  }
  const user = session.data;
  if (!user) return <LoginPage />;
  return (
    <BackgroundJobsProvider key={user.id}>
      <Layout user={user}>
        <Switch>
          <Route path="/" component={HistoryPage} />
          <Route path="/jobs/:id">{(params) => <JobPage id={params.id} />}</Route>
          <Route path="/imports" component={ImportsPage} />
          <Route path="/datasets" component={DatasetsPage} />
          <Route path="/datasets/:id">{(params) => <DatasetPage id={params.id} />}</Route>
          {user.is_admin && <Route path="/admin" component={AdminPage} />}
          <Route>
            <main className="page">
              <h1>Not found</h1>
              <p>There is no such page.</p>
            </main>
          </Route>
        </Switch>
      </Layout>
    </BackgroundJobsProvider>
  );
}
